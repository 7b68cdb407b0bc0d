package kube

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/benchplan/benchplan/executor/servers"
	"github.com/benchplan/benchplan/plan"
)

// The pod's last events are the last by time, whatever order the API
// server lists them in and however many pages that takes.
func TestEventsAreTheLastByTime(t *testing.T) {
	t.Parallel()
	pod := ObjectName("vllm", "r")
	t0 := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	var all []corev1.Event
	for i := range 150 {
		// Names (the API server's order) run against time: the newest
		// come last in key order, on the second page.
		e := corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s.%03d", pod, i), Namespace: testNS},
			InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: pod, Namespace: testNS},
			Type:           "Normal", Reason: "Pulling", Message: fmt.Sprintf("event %03d", i)}
		switch {
		case i%3 == 0:
			e.LastTimestamp = metav1.NewTime(t0.Add(time.Duration(i) * time.Second))
		case i%3 == 1:
			e.EventTime = metav1.NewMicroTime(t0.Add(time.Duration(i) * time.Second))
		default:
			e.Series = &corev1.EventSeries{Count: 2, LastObservedTime: metav1.NewMicroTime(t0.Add(time.Duration(i) * time.Second))}
			e.EventTime = metav1.NewMicroTime(t0)
		}
		all = append(all, e)
	}
	var pages atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "/events") {
			http.NotFound(w, r)
			return
		}
		pages.Add(1)
		q := r.URL.Query()
		from, _ := strconv.Atoi(q.Get("continue"))
		n, _ := strconv.Atoi(q.Get("limit"))
		if n <= 0 {
			n = len(all)
		}
		to := min(from+n, len(all))
		list := corev1.EventList{TypeMeta: metav1.TypeMeta{Kind: "EventList", APIVersion: "v1"}, Items: all[from:to]}
		if to < len(all) {
			list.Continue = strconv.Itoa(to)
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(list)
	}))
	defer srv.Close()
	c, err := Connect(ConnectOptions{Kubeconfig: writeKubeconfig(t, t.TempDir(), "kc", "ev", srv.URL, testNS), Env: []string{}})
	assert.NilError(t, err)
	obj, err := BuildObjects("vllm", vllmServer(), testNS, servers.Options{RunID: "r"})
	assert.NilError(t, err)
	k := &started{cl: c, obj: obj}
	got := k.events(context.Background())
	want := "; last events of the pod:"
	for i := 145; i < 150; i++ {
		want += fmt.Sprintf("\n    | Normal Pulling: event %03d", i)
	}
	assert.Equal(t, got, want)
	assert.Equal(t, pages.Load(), int32(2))
}

// kubernetes.kubeconfig is read from the plan's directory; ~ is the home.
func TestKubeconfigPathFromThePlansDirectory(t *testing.T) {
	t.Parallel()
	env := []string{"HOME=/home/ci"}
	assert.Equal(t, KubeconfigPath("/plans", "kube/ci.yaml", env), filepath.FromSlash("/plans/kube/ci.yaml"))
	assert.Equal(t, KubeconfigPath("/plans", "~/.kube/ci", env), filepath.FromSlash("/home/ci/.kube/ci"))
	assert.Equal(t, KubeconfigPath("/plans", "/etc/kube/ci", env), "/etc/kube/ci")
	assert.Equal(t, KubeconfigPath("", "ci.yaml", env), "ci.yaml") // the working directory's, as kubectl
	assert.Equal(t, KubeconfigPath("/plans", "", env), "")

	// The launcher connects with it.
	var got string
	l := &Launcher{Connect: func(k *plan.Kubernetes, _ []string) (*Cluster, error) {
		got = k.Kubeconfig
		return nil, fmt.Errorf("no cluster here")
	}}
	s := vllmServer()
	s.Kubernetes.Kubeconfig = "ci.kubeconfig"
	_, err := l.Start(context.Background(), "vllm", s, servers.Options{Dir: "/work/plans", Env: env})
	assert.ErrorContains(t, err, "no cluster here")
	assert.Equal(t, got, filepath.FromSlash("/work/plans/ci.kubeconfig"))
	assert.Equal(t, s.Kubernetes.Kubeconfig, "ci.kubeconfig", "the plan is not changed")

	// Connect expands ~ (benchplan cleanup --kubeconfig=~/...).
	home := t.TempDir()
	writeKubeconfig(t, home, "kc", "home", "https://home.example:6443", "")
	c, err := Connect(ConnectOptions{Kubeconfig: "~/kc", Env: []string{"HOME=" + home}})
	assert.NilError(t, err)
	assert.Equal(t, c.Host, "https://home.example:6443")
}
