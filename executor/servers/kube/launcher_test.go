package kube

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/benchplan/benchplan/executor/servers"
	"github.com/benchplan/benchplan/plan"
	"github.com/benchplan/benchplan/sim"
)

const testNS = "bench"

// startSim serves the simulator on loopback for the test's length.
func startSim(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	assert.NilError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = sim.New(sim.Config{Model: "microsoft/Phi-3.5-mini-instruct", TTFT: time.Millisecond, ITL: time.Millisecond}).Serve(ctx, ln)
	}()
	t.Cleanup(func() { cancel(); <-done })
	return ln.Addr().String()
}

// fakeKubelet sets the status of every pod created in the fake cluster
// with set, as a kubelet (and scheduler) would.
func fakeKubelet(t *testing.T, cs *fake.Clientset, set func(*corev1.Pod)) {
	t.Helper()
	w, err := cs.CoreV1().Pods(testNS).Watch(context.Background(), metav1.ListOptions{})
	assert.NilError(t, err)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev := range w.ResultChan() {
			if ev.Type != watch.Added {
				continue
			}
			pod := ev.Object.(*corev1.Pod).DeepCopy()
			set(pod)
			_, _ = cs.CoreV1().Pods(testNS).UpdateStatus(context.Background(), pod, metav1.UpdateOptions{})
		}
	}()
	t.Cleanup(func() { w.Stop(); <-done })
}

func running(node, imageID string) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		p.Spec.NodeName = node
		p.Status.Phase = corev1.PodRunning
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionTrue}, {Type: corev1.PodReady, Status: corev1.ConditionTrue}}
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: containerName, Image: p.Spec.Containers[0].Image, ImageID: imageID, Ready: true,
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.Now()}}}}
	}
}

func launcher(cs *fake.Clientset, addr string) *Launcher {
	return &Launcher{
		Connect: func(*plan.Kubernetes, []string) (*Cluster, error) {
			return &Cluster{Client: cs, Namespace: testNS, Host: "https://fake"}, nil
		},
		Forwarder: ForwardFunc(func(context.Context, *Cluster, string, string, int) (string, func(), error) {
			return addr, func() {}, nil
		}),
		Poll:             5 * time.Millisecond,
		UnschedulableFor: -1,
		PullRetryFor:     300 * time.Millisecond,
	}
}

func vllmServer() *plan.Server {
	timeout := plan.Duration(30 * time.Second)
	return &plan.Server{On: plan.OnKubernetes, Preset: "vllm", Model: "microsoft/Phi-3.5-mini-instruct",
		Args: []string{"--gpu-memory-utilization", "0.4"}, StartupTimeout: &timeout,
		Kubernetes: &plan.Kubernetes{Namespace: testNS}}
}

// leftovers lists what benchplan created and did not delete.
func leftovers(t *testing.T, cs *fake.Clientset) []string {
	t.Helper()
	ctx := context.Background()
	sel := metav1.ListOptions{LabelSelector: ManagedByLabel + "=" + ManagedBy}
	var out []string
	pods, err := cs.CoreV1().Pods(testNS).List(ctx, sel)
	assert.NilError(t, err)
	for _, p := range pods.Items {
		out = append(out, "pod/"+p.Name)
	}
	svcs, err := cs.CoreV1().Services(testNS).List(ctx, sel)
	assert.NilError(t, err)
	for _, s := range svcs.Items {
		out = append(out, "service/"+s.Name)
	}
	secs, err := cs.CoreV1().Secrets(testNS).List(ctx, sel)
	assert.NilError(t, err)
	for _, s := range secs.Items {
		out = append(out, "secret/"+s.Name)
	}
	return out
}

func TestStartReadyRecordsAndDeletes(t *testing.T) {
	t.Parallel()
	cs := fake.NewClientset(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "gpu-1", Labels: map[string]string{GPUProductLabel: "NVIDIA-H100-80GB-HBM3"}}})
	fakeKubelet(t, cs, running("gpu-1", "docker.io/vllm/vllm-openai@sha256:0123abcd"))
	dir := t.TempDir()
	token := "hf_secretvalue123456"
	in, err := launcher(cs, startSim(t)).Start(context.Background(), "vllm", vllmServer(), servers.Options{
		LogDir: dir, RunID: "run1", Env: []string{"HF_TOKEN=" + token}, StopGrace: time.Second})
	assert.NilError(t, err)
	assert.Equal(t, in.Kind, plan.KindKubernetes)
	assert.Equal(t, in.Digest, "sha256:0123abcd")
	assert.Equal(t, in.GPUModel, "NVIDIA-H100-80GB-HBM3")
	assert.Equal(t, in.Node, "gpu-1")
	assert.Equal(t, in.Pod, testNS+"/benchplan-vllm-run1")
	assert.DeepEqual(t, in.Models, []string{"microsoft/Phi-3.5-mini-instruct"})

	// The token is in the Secret, referenced by key, never in the pod.
	pod, err := cs.CoreV1().Pods(testNS).Get(context.Background(), "benchplan-vllm-run1", metav1.GetOptions{})
	assert.NilError(t, err)
	b, _ := json.Marshal(pod)
	assert.Assert(t, !strings.Contains(string(b), token))
	sec, err := cs.CoreV1().Secrets(testNS).Get(context.Background(), "benchplan-vllm-run1", metav1.GetOptions{})
	assert.NilError(t, err)
	assert.Equal(t, string(sec.Data["HF_TOKEN"]), token)
	assert.Equal(t, pod.Labels[RunLabel], "run1")
	assert.NilError(t, in.Check(context.Background()))

	assert.NilError(t, in.Stop(context.Background()))
	assert.DeepEqual(t, leftovers(t, cs), []string(nil))
	log, err := os.ReadFile(filepath.Join(dir, "vllm.log"))
	assert.NilError(t, err)
	assert.Assert(t, strings.Contains(string(log), "ready at"), string(log))
	assert.Assert(t, !strings.Contains(string(log), token))
}

func TestStartFailuresSaidPlainly(t *testing.T) {
	t.Parallel()
	oom := func(p *corev1.Pod) {
		p.Spec.NodeName = "gpu-1"
		p.Status.Phase = corev1.PodRunning
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: containerName, RestartCount: 1,
			State:                corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff", Message: "back-off 10s restarting failed container"}},
			LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "OOMKilled", ExitCode: 137}}}}
	}
	for _, c := range []struct {
		name   string
		set    func(*corev1.Pod)
		server func(*plan.Server)
		want   []string
	}{
		{
			name: "image pull back-off",
			set: func(p *corev1.Pod) {
				p.Spec.NodeName = "gpu-1"
				p.Status.Phase = corev1.PodPending
				p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: containerName, Image: p.Spec.Containers[0].Image,
					State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff", Message: `Back-off pulling image "vllm/vllm-openai:v9.9.9"`}}}}
			},
			want: []string{"image " + servers.VLLMImage + " cannot be pulled: the pull kept failing for", `(ImagePullBackOff: Back-off pulling image "vllm/vllm-openai:v9.9.9")`},
		},
		{
			name: "image not in the registry",
			set: func(p *corev1.Pod) {
				p.Spec.NodeName = "gpu-1"
				p.Status.Phase = corev1.PodPending
				p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: containerName, Image: p.Spec.Containers[0].Image,
					State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ErrImagePull", Message: `failed to pull and unpack image "docker.io/vllm/vllm-openai:v9.9.9": docker.io/vllm/vllm-openai:v9.9.9: not found`}}}}
			},
			want: []string{"image " + servers.VLLMImage + " cannot be pulled (ErrImagePull): failed to pull and unpack image", ": not found"},
		},
		{
			name: "unschedulable",
			set: func(p *corev1.Pod) {
				p.Status.Phase = corev1.PodPending
				p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonUnschedulable,
					Message: "0/3 nodes are available: 3 Insufficient nvidia.com/gpu. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod."}}
			},
			server: func(s *plan.Server) { s.GPUs = &plan.GPUs{Count: 2} },
			want:   []string{"cannot be scheduled: 0/3 nodes are available: 3 Insufficient nvidia.com/gpu.", "(it asks for 2 nvidia.com/gpu)"},
		},
		{
			name: "oom killed",
			set:  oom,
			server: func(s *plan.Server) {
				m := plan.ByteSize(8 << 30)
				s.Kubernetes.Memory = &m
			},
			want: []string{"killed: out of memory (OOMKilled, exit code 137), memory limit 8Gi", "raise kubernetes.memory", "last lines of"},
		},
		{
			name: "crash loop with the log tail",
			set: func(p *corev1.Pod) {
				oom(p)
				p.Status.ContainerStatuses[0].LastTerminationState.Terminated = &corev1.ContainerStateTerminated{Reason: "Error", ExitCode: 1}
			},
			// The fake clientset's log is "fake logs".
			want: []string{"container server exited (exit code 1) and is in CrashLoopBackOff after 1 restart(s)", "| fake logs"},
		},
		{
			name: "missing secret",
			set: func(p *corev1.Pod) {
				p.Spec.NodeName = "gpu-1"
				p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: containerName,
					State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CreateContainerConfigError", Message: `secret "hf" not found`}}}}
			},
			want: []string{`its container cannot be configured (CreateContainerConfigError): secret "hf" not found`},
		},
		{
			name: "evicted",
			set: func(p *corev1.Pod) {
				p.Status.Phase = corev1.PodFailed
				p.Status.Reason = "Evicted"
				p.Status.Message = "The node was low on resource: memory."
			},
			want: []string{"ended (phase Failed, Evicted): The node was low on resource: memory."},
		},
		{
			name: "readiness timeout",
			set: func(p *corev1.Pod) {
				p.Spec.NodeName = "gpu-1"
				p.Status.Phase = corev1.PodPending
				p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: containerName,
					State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}}}}
			},
			server: func(s *plan.Server) {
				d := plan.Duration(300 * time.Millisecond)
				s.StartupTimeout = &d
			},
			want: []string{"not ready within 300ms (startup_timeout): its pod still waits for ContainerCreating"},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			cs := fake.NewClientset()
			fakeKubelet(t, cs, c.set)
			s := vllmServer()
			if c.server != nil {
				c.server(s)
			}
			_, err := launcher(cs, "127.0.0.1:1").Start(context.Background(), "vllm", s, servers.Options{RunID: "r", StopGrace: time.Second})
			assert.Assert(t, err != nil)
			for _, w := range c.want {
				assert.Assert(t, strings.Contains(err.Error(), w), "want %q in:\n%v", w, err)
			}
			assert.DeepEqual(t, leftovers(t, cs), []string(nil))
		})
	}
}

// A failure of the launcher reaches the run as a *servers.StartError: the
// CLI's exit 3.
func TestStartErrorThroughStartWith(t *testing.T) {
	t.Parallel()
	cs := fake.NewClientset()
	fakeKubelet(t, cs, func(p *corev1.Pod) {
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: containerName,
			State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ErrImagePull", Message: "manifest unknown"}}}}
	})
	l := launcher(cs, "127.0.0.1:1")
	_, err := servers.StartWith(context.Background(), "vllm", vllmServer(), servers.Options{Launchers: map[string]servers.Launcher{plan.KindKubernetes: l.Start}})
	var se *servers.StartError
	assert.Assert(t, errors.As(err, &se), "%v", err)
	assert.Assert(t, strings.Contains(err.Error(), "manifest unknown"))

	// Without a launcher, a kubernetes server says so.
	_, err = servers.StartWith(context.Background(), "vllm", vllmServer(), servers.Options{})
	assert.Assert(t, errors.As(err, &se) && strings.Contains(err.Error(), "Kubernetes"), "%v", err)
}

// A start cut short (Ctrl-C) deletes what it created.
func TestStartCancelledDeletes(t *testing.T) {
	t.Parallel()
	cs := fake.NewClientset()
	ctx, cancel := context.WithCancel(context.Background())
	fakeKubelet(t, cs, func(p *corev1.Pod) {
		p.Status.Phase = corev1.PodPending
		cancel() // the signal arrives while the pod is pending
	})
	_, err := launcher(cs, "127.0.0.1:1").Start(ctx, "vllm", vllmServer(), servers.Options{RunID: "r", Env: []string{"HF_TOKEN=x-token-value"}})
	assert.Assert(t, errors.Is(err, context.Canceled), "%v", err)
	assert.DeepEqual(t, leftovers(t, cs), []string(nil))
}

// A server that crashes after it was ready is an *servers.ExitedError.
func TestCheckSeesARestart(t *testing.T) {
	t.Parallel()
	cs := fake.NewClientset()
	fakeKubelet(t, cs, running("gpu-1", "sha256:ff"))
	in, err := launcher(cs, startSim(t)).Start(context.Background(), "vllm", vllmServer(), servers.Options{RunID: "r"})
	assert.NilError(t, err)
	restartAfterOOM(t, cs, "vllm")
	err = in.Check(context.Background())
	var ee *servers.ExitedError
	assert.Assert(t, errors.As(err, &ee), "%v", err)
	assert.Assert(t, strings.Contains(err.Error(), "OOMKilled"), "%v", err)
	assert.NilError(t, in.Stop(context.Background()))
	assert.DeepEqual(t, leftovers(t, cs), []string(nil))
}

func TestBuildObjects(t *testing.T) {
	t.Parallel()
	shm := plan.ByteSize(1 << 30)
	secs := int64(60)
	s := &plan.Server{On: plan.OnKubernetes, Preset: "tgi", Model: "microsoft/Phi-3.5-mini-instruct", ShmSize: &shm,
		GPUs:   &plan.GPUs{Count: 2},
		APIKey: "sk-the-key-123456",
		Env:    map[string]string{"MAX_INPUT_TOKENS": "4096", "MY_SECRET_TOKEN": "tok-abcdef123"},
		Kubernetes: &plan.Kubernetes{Namespace: "llm", NodeSelector: map[string]string{GPUProductLabel: "NVIDIA-A100-SXM4-80GB"},
			Tolerations:    []plan.Toleration{{Key: "nvidia.com/gpu", Operator: "Exists", Effect: "NoExecute", TolerationSeconds: &secs}},
			HFCache:        &plan.KubeVolume{PVC: "hf-cache"},
			SecretEnv:      map[string]plan.SecretKeyRef{"HF_TOKEN": {Secret: "hf", Key: "token"}},
			EnvFromSecrets: []string{"more"}, ServiceAccount: "bench"},
	}
	obj, err := BuildObjects("tgi phi", s, "default", servers.Options{RunID: "abcdef0123456789", Env: []string{"HF_TOKEN=from-env-not-used"}})
	assert.NilError(t, err)
	assert.Equal(t, obj.Namespace, "llm")
	assert.Equal(t, obj.Pod.Name, "benchplan-tgi-phi-abcdef012345")
	c := obj.Pod.Spec.Containers[0]
	assert.Equal(t, c.Image, servers.TGIImage)
	assert.Equal(t, c.Ports[0].ContainerPort, int32(80))
	assert.Equal(t, c.Resources.Limits.Name(GPUResource, resource.DecimalSI).String(), "2")
	v := obj.Pod.Spec.Volumes
	assert.Equal(t, len(v), 2)
	assert.Equal(t, v[0].EmptyDir.Medium, corev1.StorageMediumMemory)
	assert.Equal(t, v[0].EmptyDir.SizeLimit.String(), "1Gi")
	assert.Equal(t, v[1].PersistentVolumeClaim.ClaimName, "hf-cache")
	assert.Equal(t, c.VolumeMounts[1].MountPath, "/data")
	assert.Equal(t, obj.Pod.Spec.NodeSelector[GPUProductLabel], "NVIDIA-A100-SXM4-80GB")
	assert.Equal(t, obj.Pod.Spec.Tolerations[0].Operator, corev1.TolerationOpExists)
	assert.Equal(t, obj.Pod.Spec.ServiceAccountName, "bench")
	assert.Equal(t, obj.Pod.Labels[RunLabel], "abcdef0123456789")
	assert.Equal(t, obj.Pod.Labels[ManagedByLabel], ManagedBy)
	assert.Equal(t, obj.Service.Spec.Selector[RunLabel], "abcdef0123456789")
	env := map[string]corev1.EnvVar{}
	for _, e := range c.Env {
		env[e.Name] = e
	}
	assert.Equal(t, env["MODEL_ID"].Value, "microsoft/Phi-3.5-mini-instruct")
	assert.Equal(t, env["MAX_INPUT_TOKENS"].Value, "4096")
	assert.Equal(t, env["HF_TOKEN"].ValueFrom.SecretKeyRef.Name, "hf")
	assert.Assert(t, env["HF_TOKEN"].ValueFrom.SecretKeyRef.Optional == nil) // required unless optional: true
	assert.Equal(t, env["MY_SECRET_TOKEN"].ValueFrom.SecretKeyRef.Name, obj.Pod.Name)
	assert.Equal(t, c.EnvFrom[0].SecretRef.Name, "more")
	b, _ := json.Marshal(obj.Pod)
	for _, secret := range []string{"tok-abcdef123", "from-env-not-used", "sk-the-key-123456"} {
		assert.Assert(t, !strings.Contains(string(b), secret), "%s in the pod", secret)
	}
	assert.Equal(t, string(obj.Secret.Data["MY_SECRET_TOKEN"]), "tok-abcdef123")

	// vLLM: its api_key through the Secret, an unsized /dev/shm, one GPU.
	obj, err = BuildObjects("v", &plan.Server{Preset: "vllm", Model: "m", APIKey: "sk-vllm-key-0000", On: plan.OnKubernetes}, "default", servers.Options{RunID: "r"})
	assert.NilError(t, err)
	c = obj.Pod.Spec.Containers[0]
	assert.DeepEqual(t, c.Args, []string{"--model", "m"})
	assert.Equal(t, c.Env[0].Name, "VLLM_API_KEY")
	assert.Assert(t, c.Env[0].ValueFrom != nil)
	assert.Assert(t, obj.Pod.Spec.Volumes[0].EmptyDir.SizeLimit == nil)
	assert.Equal(t, c.Resources.Limits.Name(GPUResource, resource.DecimalSI).String(), "1")
	assert.Equal(t, obj.Namespace, "default")
}

func TestDiagnoseDigestAndNames(t *testing.T) {
	t.Parallel()
	assert.Equal(t, digestOf("docker-pullable://vllm/vllm-openai@sha256:abc"), "sha256:abc")
	assert.Equal(t, digestOf("sha256:abc"), "sha256:abc")
	assert.Equal(t, digestOf("vllm/vllm-openai:v0.6.3"), "")
	assert.Equal(t, ObjectName("vllm-phi-3.5-mini-mem0.4", "0123456789abcdef"), "benchplan-vllm-phi-3-5-mini-mem0-4-0123456789ab")
	long := ObjectName(strings.Repeat("x", 100), "r")
	assert.Assert(t, len(long) <= 63, long)
	assert.Equal(t, labelValue("a/b c"), "a_b_c")
}

func TestCleanupListsThenDeletes(t *testing.T) {
	t.Parallel()
	cs := fake.NewClientset()
	c := &Cluster{Client: cs, Namespace: testNS}
	for _, run := range []string{"a", "b"} {
		obj, err := BuildObjects("vllm", vllmServer(), testNS, servers.Options{RunID: run, Env: []string{"HF_TOKEN=t0ken-value"}})
		assert.NilError(t, err)
		_, err = cs.CoreV1().Pods(testNS).Create(context.Background(), obj.Pod, metav1.CreateOptions{})
		assert.NilError(t, err)
		_, err = cs.CoreV1().Services(testNS).Create(context.Background(), obj.Service, metav1.CreateOptions{})
		assert.NilError(t, err)
		_, err = cs.CoreV1().Secrets(testNS).Create(context.Background(), obj.Secret, metav1.CreateOptions{})
		assert.NilError(t, err)
	}
	// Someone else's pod stays.
	_, err := cs.CoreV1().Pods(testNS).Create(context.Background(), &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "other", Namespace: testNS}}, metav1.CreateOptions{})
	assert.NilError(t, err)

	var out strings.Builder
	n, err := Cleanup(context.Background(), c, CleanupOptions{}, &out)
	assert.NilError(t, err)
	assert.Equal(t, n, 6)
	assert.Equal(t, len(leftovers(t, cs)), 6, "a listing deletes nothing")

	out.Reset()
	n, err = Cleanup(context.Background(), c, CleanupOptions{Run: "a", Delete: true}, &out)
	assert.NilError(t, err)
	assert.Equal(t, n, 3)
	assert.Assert(t, strings.Contains(out.String(), "deleting pod bench/benchplan-vllm-a (run a)"), out.String())
	assert.DeepEqual(t, leftovers(t, cs), []string{"pod/benchplan-vllm-b", "service/benchplan-vllm-b", "secret/benchplan-vllm-b"})
	_, err = cs.CoreV1().Pods(testNS).Get(context.Background(), "other", metav1.GetOptions{})
	assert.NilError(t, err)
}

// restartAfterOOM makes the server's pod report that its container was
// OOMKilled and restarted, as the kubelet would.
func restartAfterOOM(t *testing.T, cs *fake.Clientset, server string) {
	t.Helper()
	pod, err := cs.CoreV1().Pods(testNS).Get(context.Background(), ObjectName(server, "r"), metav1.GetOptions{})
	assert.NilError(t, err)
	pod.Status.ContainerStatuses[0].RestartCount = 1
	pod.Status.ContainerStatuses[0].LastTerminationState.Terminated = &corev1.ContainerStateTerminated{Reason: "OOMKilled", ExitCode: 137}
	_, err = cs.CoreV1().Pods(testNS).UpdateStatus(context.Background(), pod, metav1.UpdateOptions{})
	assert.NilError(t, err)
}
