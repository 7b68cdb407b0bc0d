package kube_test

// The launcher against a real kube-apiserver (with etcd as its store):
// scripts/kube-apiserver.sh builds the API server, Debian's etcd-server
// package provides etcd, and BENCHPLAN_KUBE_APISERVER and BENCHPLAN_ETCD
// point at them (.ci/run sets both). There is no kubelet and no
// scheduler: a small controller in this test plays both for the pods the
// launcher creates (binds them to a node, sets them running and ready
// with an image id through the status subresource, and completes their
// deletion), and the port-forward seam points at the built-in simulator,
// so that a plan runs end to end.

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/benchplan/benchplan/executor"
	"github.com/benchplan/benchplan/executor/servers"
	"github.com/benchplan/benchplan/executor/servers/kube"
	"github.com/benchplan/benchplan/plan"
	"github.com/benchplan/benchplan/sim"
)

const (
	itNS      = "bench"
	itNode    = "gpu-node-1"
	itGPU     = "NVIDIA-H100-80GB-HBM3"
	itImageID = "docker.io/vllm/vllm-openai@sha256:4f1e5c0a9d1b"
)

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	assert.NilError(t, err)
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// advertiseIP is a non-loopback IPv4 address of this machine, which the
// API server needs to advertise.
func advertiseIP() string {
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil {
			return n.IP.String()
		}
	}
	return ""
}

// startProc starts a binary whose output goes to a file under dir, and
// stops it when the test ends.
func startProc(t *testing.T, dir, name, bin string, args ...string) {
	t.Helper()
	out, err := os.Create(filepath.Join(dir, name+".log"))
	assert.NilError(t, err)
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = out, out
	assert.NilError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		_ = out.Close()
		if t.Failed() {
			b, _ := os.ReadFile(out.Name())
			if len(b) > 8<<10 {
				b = b[len(b)-8<<10:]
			}
			t.Logf("%s's log (end):\n%s", name, b)
		}
	})
}

func waitHTTP(t *testing.T, hc *http.Client, url, token string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := hc.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready within %s: %v", url, within, err)
		}
		time.Sleep(200 * time.Millisecond) // polling with a deadline
	}
}

// apiServer starts etcd and kube-apiserver and returns a kubeconfig file.
func apiServer(t *testing.T) string {
	apiserverBin, etcdBin := os.Getenv("BENCHPLAN_KUBE_APISERVER"), os.Getenv("BENCHPLAN_ETCD")
	if apiserverBin == "" || etcdBin == "" {
		t.Skip("BENCHPLAN_KUBE_APISERVER and BENCHPLAN_ETCD are not set: no real API server to test the Kubernetes launcher against (scripts/kube-apiserver.sh builds one; apt-get install etcd-server)")
	}
	for _, b := range []string{apiserverBin, etcdBin} {
		if _, err := os.Stat(b); err != nil {
			t.Skipf("no binary at %s: %v", b, err)
		}
	}
	ip := advertiseIP()
	if ip == "" {
		t.Skip("no non-loopback IPv4 address for kube-apiserver's --advertise-address")
	}
	dir := t.TempDir()

	etcdPort, peerPort := freePort(t), freePort(t)
	etcdURL := fmt.Sprintf("http://127.0.0.1:%d", etcdPort)
	startProc(t, dir, "etcd", etcdBin, "--data-dir", filepath.Join(dir, "etcd"),
		"--listen-client-urls", etcdURL, "--advertise-client-urls", etcdURL,
		"--listen-peer-urls", fmt.Sprintf("http://127.0.0.1:%d", peerPort),
		"--initial-advertise-peer-urls", fmt.Sprintf("http://127.0.0.1:%d", peerPort),
		"--initial-cluster", fmt.Sprintf("default=http://127.0.0.1:%d", peerPort))
	waitHTTP(t, http.DefaultClient, etcdURL+"/health", "", 30*time.Second)

	// The service-account signing key, and a token for the test's user.
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	assert.NilError(t, err)
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	assert.NilError(t, err)
	assert.NilError(t, os.WriteFile(filepath.Join(dir, "sa.key"), pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600))
	assert.NilError(t, os.WriteFile(filepath.Join(dir, "sa.pub"), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), 0o644))
	token := "benchplan-integration-token"
	assert.NilError(t, os.WriteFile(filepath.Join(dir, "tokens.csv"), []byte(token+`,admin,admin,"system:masters"`+"\n"), 0o600))

	port := freePort(t)
	startProc(t, dir, "kube-apiserver", apiserverBin,
		"--etcd-servers", etcdURL,
		"--advertise-address", ip,
		"--bind-address", "127.0.0.1",
		"--secure-port", fmt.Sprint(port),
		"--cert-dir", filepath.Join(dir, "certs"), // a self-signed serving certificate is made there
		"--service-account-issuer", "https://kubernetes.default.svc",
		"--service-account-key-file", filepath.Join(dir, "sa.pub"),
		"--service-account-signing-key-file", filepath.Join(dir, "sa.key"),
		"--service-cluster-ip-range", "10.96.0.0/24",
		"--authorization-mode", "AlwaysAllow",
		"--token-auth-file", filepath.Join(dir, "tokens.csv"),
		"--endpoint-reconciler-type", "none",
		"--enable-priority-and-fairness=false",
	)
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} // the test's own self-signed server
	waitHTTP(t, hc, fmt.Sprintf("https://127.0.0.1:%d/readyz", port), token, 2*time.Minute)

	kc := filepath.Join(dir, "kubeconfig")
	assert.NilError(t, os.WriteFile(kc, []byte(fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: it
  cluster: { server: "https://127.0.0.1:%d", insecure-skip-tls-verify: true }
users:
- name: admin
  user: { token: %s }
contexts:
- name: it
  context: { cluster: it, user: admin, namespace: %s }
current-context: it
`, port, token, itNS)), 0o600))
	return kc
}

// fakeNode plays scheduler and kubelet for the launcher's pods: it binds
// each to the node, sets it running and ready with an image id, and
// completes a deletion at once. hold, when it returns true for a pod,
// leaves that pod pending.
func fakeNode(t *testing.T, cs kube.Client, hold func(*corev1.Pod) bool) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			w, err := cs.CoreV1().Pods(itNS).Watch(ctx, metav1.ListOptions{LabelSelector: kube.ManagedByLabel + "=" + kube.ManagedBy})
			if err != nil {
				continue
			}
			for ev := range w.ResultChan() {
				pod, ok := ev.Object.(*corev1.Pod)
				if !ok || ev.Type == watch.Deleted {
					continue
				}
				switch {
				case pod.DeletionTimestamp != nil:
					zero := int64(0)
					_ = cs.CoreV1().Pods(itNS).Delete(ctx, pod.Name, metav1.DeleteOptions{GracePeriodSeconds: &zero})
				case hold != nil && hold(pod):
				case pod.Spec.NodeName == "":
					_ = cs.CoreV1().Pods(itNS).Bind(ctx, &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: pod.Name, Namespace: itNS},
						Target: corev1.ObjectReference{Kind: "Node", Name: itNode}}, metav1.CreateOptions{})
				case pod.Status.Phase != corev1.PodRunning:
					p := pod.DeepCopy()
					now := metav1.Now()
					p.Status.Phase = corev1.PodRunning
					p.Status.HostIP, p.Status.PodIP = "10.0.0.2", "10.244.0.7"
					p.Status.StartTime = &now
					for _, c := range []corev1.PodConditionType{corev1.PodScheduled, corev1.PodInitialized, corev1.ContainersReady, corev1.PodReady} {
						p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{Type: c, Status: corev1.ConditionTrue, LastTransitionTime: now})
					}
					p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: p.Spec.Containers[0].Name, Image: p.Spec.Containers[0].Image,
						ImageID: itImageID, Ready: true, Started: new(true),
						State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}}}}
					_, _ = cs.CoreV1().Pods(itNS).UpdateStatus(ctx, p, metav1.UpdateOptions{})
				}
			}
		}
	}()
	t.Cleanup(func() { cancel(); wg.Wait() })
}

// ownedByPod waits for the Secret and the Service of pod name and says
// what is wrong with their owner references ("" when they name the pod).
func ownedByPod(cs kube.Client, name string) string {
	ctx := context.Background()
	deadline := time.Now().Add(10 * time.Second)
	for {
		pod, perr := cs.CoreV1().Pods(itNS).Get(ctx, name, metav1.GetOptions{})
		sec, serr := cs.CoreV1().Secrets(itNS).Get(ctx, name, metav1.GetOptions{})
		svc, verr := cs.CoreV1().Services(itNS).Get(ctx, name, metav1.GetOptions{})
		if perr == nil && serr == nil && verr == nil {
			for _, refs := range [][]metav1.OwnerReference{sec.OwnerReferences, svc.OwnerReferences} {
				if len(refs) != 1 || refs[0].Kind != "Pod" || refs[0].Name != name || refs[0].UID != pod.UID || pod.UID == "" {
					return fmt.Sprintf("owner references %+v, pod uid %q", refs, pod.UID)
				}
			}
			return ""
		}
		if time.Now().After(deadline) {
			return fmt.Sprintf("objects of %s: %v, %v, %v", name, perr, serr, verr)
		}
		time.Sleep(50 * time.Millisecond) // polling the API server with a deadline
	}
}

// leftovers lists benchplan's objects still in the namespace.
func leftovers(t *testing.T, cs kube.Client) []string {
	t.Helper()
	ctx := context.Background()
	sel := metav1.ListOptions{LabelSelector: kube.ManagedByLabel + "=" + kube.ManagedBy}
	var out []string
	pods, err := cs.CoreV1().Pods(itNS).List(ctx, sel)
	assert.NilError(t, err)
	for _, p := range pods.Items {
		out = append(out, "pod/"+p.Name)
	}
	svcs, err := cs.CoreV1().Services(itNS).List(ctx, sel)
	assert.NilError(t, err)
	for _, s := range svcs.Items {
		out = append(out, "service/"+s.Name)
	}
	secs, err := cs.CoreV1().Secrets(itNS).List(ctx, sel)
	assert.NilError(t, err)
	for _, s := range secs.Items {
		out = append(out, "secret/"+s.Name)
	}
	return out
}

func TestKubernetesAgainstARealAPIServer(t *testing.T) {
	t0 := time.Now()
	kc := apiServer(t)
	t.Logf("etcd and kube-apiserver ready in %s", time.Since(t0).Round(100*time.Millisecond))
	c, err := kube.Connect(kube.ConnectOptions{Kubeconfig: kc, Env: []string{}})
	assert.NilError(t, err)
	assert.Equal(t, c.Namespace, itNS)
	assert.Assert(t, !c.InCluster)
	cs := c.Client
	ctx := context.Background()
	_, err = cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: itNS}}, metav1.CreateOptions{})
	assert.NilError(t, err)
	// No controller manager makes the namespace's default service account.
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err = cs.CoreV1().ServiceAccounts(itNS).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}}, metav1.CreateOptions{})
		if err == nil || apierrors.IsAlreadyExists(err) || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	assert.Assert(t, err == nil || apierrors.IsAlreadyExists(err), "%v", err)
	_, err = cs.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: itNode, Labels: map[string]string{kube.GPUProductLabel: itGPU}}}, metav1.CreateOptions{})
	assert.NilError(t, err)

	var held sync.Map      // pod name -> true: left pending (the cancelled run)
	var manifests sync.Map // pod name -> its JSON, as the API server stored it
	podSeen := make(chan string, 4)
	fakeNode(t, c.Streams, func(p *corev1.Pod) bool { // its watch lasts the test: the client without a request timeout
		b, _ := json.Marshal(p)
		manifests.Store(p.Name, string(b))
		if p.Annotations[kube.ServerAnnotation] == "held" {
			if _, loaded := held.LoadOrStore(p.Name, true); !loaded {
				podSeen <- p.Name
			}
			return true
		}
		return false
	})

	// The port-forward seam points at the simulator: the pod's "server".
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	assert.NilError(t, err)
	simCtx, simStop := context.WithCancel(ctx)
	simDone := make(chan struct{})
	go func() {
		defer close(simDone)
		_ = sim.New(sim.Config{Model: "microsoft/Phi-3.5-mini-instruct", TTFT: 5 * time.Millisecond, ITL: time.Millisecond}).Serve(simCtx, ln)
	}()
	defer func() { simStop(); <-simDone }()
	var forwarded sync.Map
	l := &kube.Launcher{Poll: 50 * time.Millisecond, Forwarder: kube.ForwardFunc(func(_ context.Context, _ *kube.Cluster, ns, pod string, port int) (string, func(), error) {
		forwarded.Store(ns+"/"+pod, port)
		return ln.Addr().String(), func() {}, nil
	})}
	launchers := map[string]servers.Launcher{plan.KindKubernetes: l.Start}

	dir := t.TempDir()
	planFile := filepath.Join(dir, "k8s.yaml")
	writePlan := func(server string) {
		assert.NilError(t, os.WriteFile(planFile, []byte(fmt.Sprintf(`version: 1
name: k8s
servers:
  %s:
    on: kubernetes
    preset: vllm
    model: microsoft/Phi-3.5-mini-instruct
    args: ["--gpu-memory-utilization", "0.4", "--api-key", "${VLLM_KEY}"]
    env: { HF_TOKEN: "${HF_TOKEN}" }
    startup_timeout: 1m
    kubernetes:
      kubeconfig: %s
      namespace: %s
      node_selector: { "%s": "%s" }
      tolerations: [ { key: nvidia.com/gpu, operator: Exists, effect: NoSchedule } ]
      hf_cache: { host_path: /var/cache/huggingface }
scenarios:
  - name: chat
    load: { type: constant, rate: 20 }
    data: { emulated: { prompt_tokens: 16, output_tokens: 8 } }
    limits: { max_requests: 10 }
    assert: [ "errors.rate == 0" ]
`, server, kc, itNS, kube.GPUProductLabel, itGPU)), 0o644))
	}
	token := "hf_integration_secret_0123456789"
	argKey := "sk-integration-arg-key-0123"
	lookup := func(k string) (string, bool) {
		switch k {
		case "HF_TOKEN":
			return token, true
		case "VLLM_KEY":
			return argKey, true
		}
		return "", false
	}

	// A plan runs end to end: the pod is created, "scheduled", ready
	// through the seam; the scenario runs; everything is deleted.
	writePlan("vllm")
	p, err := plan.Read(planFile, plan.Options{Env: lookup})
	assert.NilError(t, err)
	logDir := filepath.Join(dir, "logs")
	var progress strings.Builder
	t1 := time.Now()
	run, err := executor.Run(ctx, p, executor.Options{LogDir: logDir, Launchers: launchers, Progress: &progress, Env: []string{"HF_TOKEN=" + token}})
	assert.NilError(t, err, progress.String())
	t.Logf("plan ran end to end in %s", time.Since(t1).Round(100*time.Millisecond))
	assert.Equal(t, run.Error, "", progress.String())
	assert.Equal(t, len(run.Scenarios), 1)
	st := run.Scenarios[0].Steps
	assert.Assert(t, len(st) == 1 && st[0].Metrics.Requests.Completed == 10, "%+v", st)
	srv := run.Environment.Servers[0]
	assert.Equal(t, srv.Kind, plan.KindKubernetes)
	assert.Equal(t, srv.Digest, "sha256:4f1e5c0a9d1b")
	assert.Equal(t, srv.GPU, itGPU)
	assert.Equal(t, srv.Node, itNode)
	assert.Assert(t, strings.HasPrefix(srv.Pod, itNS+"/benchplan-vllm-"), srv.Pod)
	port, ok := forwarded.Load(srv.Pod)
	assert.Assert(t, ok && port == 8000, "forwarded %v", port)
	assert.DeepEqual(t, leftovers(t, cs), []string(nil))
	logb, err := os.ReadFile(filepath.Join(logDir, "vllm.log"))
	assert.NilError(t, err)
	assert.Assert(t, strings.Contains(string(logb), "ready at"), string(logb))
	assert.Assert(t, !strings.Contains(string(logb)+progress.String(), token))
	assert.Assert(t, !strings.Contains(string(logb)+progress.String(), argKey))
	// No secret in the pod as the API server stored it: the --api-key
	// argument is $(VAR), from the Secret.
	m, ok := manifests.Load(strings.TrimPrefix(srv.Pod, itNS+"/"))
	assert.Assert(t, ok)
	assert.Assert(t, !strings.Contains(m.(string), token) && !strings.Contains(m.(string), argKey), m)
	assert.Assert(t, strings.Contains(m.(string), `"--api-key","$(BENCHPLAN_SECRET_ARG_1)"`), m)

	// A run cancelled while its pod is pending (Ctrl-C) deletes it all.
	writePlan("held")
	p, err = plan.Read(planFile, plan.Options{Env: lookup})
	assert.NilError(t, err)
	cctx, cancel := context.WithCancel(ctx)
	owned := make(chan string, 1) // what is wrong with the owner references, "" when nothing
	go func() {
		select {
		case name := <-podSeen:
			owned <- ownedByPod(cs, name)
		case <-time.After(time.Minute):
			owned <- "no pod within a minute"
		}
		cancel()
	}()
	run, err = executor.Run(cctx, p, executor.Options{Launchers: launchers, Env: []string{"HF_TOKEN=" + token}})
	cancel()
	// The Secret and the Service are owned by the pod (the real API server
	// checks the references: a uid is required).
	assert.Equal(t, <-owned, "")
	assert.Assert(t, err != nil || run.Error != "" || len(run.Scenarios) == 0 || run.Scenarios[0].Error != "", "a cancelled run")
	assert.DeepEqual(t, leftovers(t, cs), []string(nil))

	// benchplan cleanup --kubernetes finds leftovers by label.
	obj, err := kube.BuildObjects("left", p.Servers["held"], itNS, servers.Options{RunID: "leftover", Env: []string{"HF_TOKEN=" + token}})
	assert.NilError(t, err)
	_, err = cs.CoreV1().Secrets(itNS).Create(ctx, obj.Secret, metav1.CreateOptions{})
	assert.NilError(t, err)
	_, err = cs.CoreV1().Services(itNS).Create(ctx, obj.Service, metav1.CreateOptions{})
	assert.NilError(t, err)
	var out strings.Builder
	n, err := kube.Cleanup(ctx, c, kube.CleanupOptions{Run: "leftover", Delete: true}, &out)
	assert.NilError(t, err)
	assert.Equal(t, n, 2, out.String())
	assert.DeepEqual(t, leftovers(t, cs), []string(nil))
}
