package kube

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/benchplan/benchplan/executor/servers"
	"github.com/benchplan/benchplan/plan"
)

// logAPI serves the pods/log subresource as an API server would, with
// serve answering each request; the cluster it returns reads logs from
// it (Streams, connected as Connect does, with a short RequestTimeout)
// and everything else from cs.
func logAPI(t *testing.T, cs *fake.Clientset, serve func(w http.ResponseWriter, r *http.Request)) *Cluster {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "/log") {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		serve(w, r)
	}))
	t.Cleanup(srv.Close)
	kc := writeKubeconfig(t, t.TempDir(), "kc", "logs", srv.URL, testNS)
	c, err := Connect(ConnectOptions{Kubeconfig: kc, Env: []string{}, RequestTimeout: 200 * time.Millisecond})
	assert.NilError(t, err)
	c.Client = cs
	return c
}

func withCluster(l *Launcher, c *Cluster) *Launcher {
	l.Connect = func(*plan.Kubernetes, []string) (*Cluster, error) { return c, nil }
	return l
}

// waitFile waits until the file holds want.
func waitFile(t *testing.T, path, want string, within time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		b, _ := os.ReadFile(path)
		if strings.Contains(string(b), want) || time.Now().After(deadline) {
			return string(b)
		}
		time.Sleep(20 * time.Millisecond) // polling a file another goroutine writes
	}
}

// The followed log is not cut by the one-off calls' request timeout: a
// server's log lasts the run.
func TestLogStreamOutlivesTheRequestTimeout(t *testing.T) {
	t.Parallel()
	cs := fake.NewClientset()
	fakeKubelet(t, cs, running("gpu-1", "sha256:ff"))
	c := logAPI(t, cs, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("follow") != "true" {
			return
		}
		for i := range 12 { // 600 ms: three times the request timeout
			fmt.Fprintf(w, "loading line %d\n", i)
			w.(http.Flusher).Flush()
			time.Sleep(50 * time.Millisecond)
		}
		<-r.Context().Done()
	})
	dir := t.TempDir()
	in, err := withCluster(launcher(cs, startSim(t)), c).Start(context.Background(), "vllm", vllmServer(), servers.Options{LogDir: dir, RunID: "r"})
	assert.NilError(t, err)
	log := waitFile(t, filepath.Join(dir, "vllm.log"), "loading line 11", 5*time.Second)
	assert.NilError(t, in.Stop(context.Background()))
	assert.Assert(t, strings.Contains(log, "loading line 11"), log)
	assert.Assert(t, !strings.Contains(log, "broke"), log)
}

// A stream that breaks is said in the log and resumed.
func TestLogStreamBreakIsSaidAndResumed(t *testing.T) {
	t.Parallel()
	cs := fake.NewClientset()
	fakeKubelet(t, cs, running("gpu-1", "sha256:ff"))
	c := logAPI(t, cs, func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("follow") != "true" {
			return
		}
		if q.Get("sinceTime") == "" {
			fmt.Fprintln(w, "before the break")
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler) // the connection is reset
		}
		fmt.Fprintln(w, "after the resume")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	dir := t.TempDir()
	in, err := withCluster(launcher(cs, startSim(t)), c).Start(context.Background(), "vllm", vllmServer(), servers.Options{LogDir: dir, RunID: "r"})
	assert.NilError(t, err)
	log := waitFile(t, filepath.Join(dir, "vllm.log"), "after the resume", 5*time.Second)
	assert.NilError(t, in.Stop(context.Background()))
	assert.Assert(t, strings.Contains(log, "before the break"), log)
	assert.Assert(t, strings.Contains(log, "the pod's log stream broke after"), log)
	assert.Assert(t, strings.Contains(log, "after the resume"), log)
}

// crashLog serves a followed log of model loading that ends (the
// container exited), and the exited instance's own last lines.
func crashLog(followed chan<- struct{}) func(w http.ResponseWriter, r *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		switch {
		case q.Get("follow") == "true":
			for i := range 30 {
				fmt.Fprintf(w, "INFO loading weights shard %d\n", i)
			}
			w.(http.Flusher).Flush()
			if followed != nil {
				select {
				case followed <- struct{}{}:
				default:
				}
			}
		case q.Get("previous") == "true":
			fmt.Fprintln(w, "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB")
		default:
			fmt.Fprintln(w, "INFO the restarted instance starts")
		}
	}
}

func crashLooping(p *corev1.Pod) {
	p.Status.ContainerStatuses[0].RestartCount = 1
	p.Status.ContainerStatuses[0].State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}}
	p.Status.ContainerStatuses[0].LastTerminationState.Terminated = &corev1.ContainerStateTerminated{Reason: "Error", ExitCode: 1}
}

// A container that exits after its followed log showed other lines: the
// error shows the exited instance's own last lines, read from the API
// server, not the model loading the stream caught.
func TestExitedContainersTailIsRead(t *testing.T) {
	t.Parallel()
	t.Run("while starting", func(t *testing.T) {
		t.Parallel()
		cs := fake.NewClientset()
		fakeKubelet(t, cs, running("gpu-1", "sha256:ff"))
		followed := make(chan struct{}, 1)
		c := logAPI(t, cs, crashLog(followed))
		go func() {
			<-followed
			pod, err := cs.CoreV1().Pods(testNS).Get(context.Background(), ObjectName("vllm", "r"), metav1.GetOptions{})
			if err == nil {
				crashLooping(pod)
				_, _ = cs.CoreV1().Pods(testNS).UpdateStatus(context.Background(), pod, metav1.UpdateOptions{})
			}
		}()
		// Nothing answers the health path: the crash ends the start.
		_, err := withCluster(launcher(cs, "127.0.0.1:1"), c).Start(context.Background(), "vllm", vllmServer(), servers.Options{LogDir: t.TempDir(), RunID: "r"})
		assert.Assert(t, err != nil)
		assert.Assert(t, strings.Contains(err.Error(), "CrashLoopBackOff"), "%v", err)
		assert.Assert(t, strings.Contains(err.Error(), "| torch.OutOfMemoryError: CUDA out of memory"), "%v", err)
		assert.DeepEqual(t, leftovers(t, cs), []string(nil))
	})
	t.Run("after it was ready", func(t *testing.T) {
		t.Parallel()
		cs := fake.NewClientset()
		fakeKubelet(t, cs, running("gpu-1", "sha256:ff"))
		followed := make(chan struct{}, 1)
		c := logAPI(t, cs, crashLog(followed))
		dir := t.TempDir()
		in, err := withCluster(launcher(cs, startSim(t)), c).Start(context.Background(), "vllm", vllmServer(), servers.Options{LogDir: dir, RunID: "r"})
		assert.NilError(t, err)
		<-followed
		restartAfterOOM(t, cs, "vllm")
		err = in.Check(context.Background())
		var ee *servers.ExitedError
		assert.Assert(t, errors.As(err, &ee), "%v", err)
		assert.Assert(t, strings.Contains(err.Error(), "| torch.OutOfMemoryError: CUDA out of memory"), "%v", err)
		assert.NilError(t, in.Stop(context.Background()))
		b, err := os.ReadFile(filepath.Join(dir, "vllm.log"))
		assert.NilError(t, err)
		assert.Assert(t, strings.Contains(string(b), "INFO loading weights shard 29"), string(b))
	})
}
