package kube

import (
	"context"
	"errors"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/benchplan/benchplan/executor/servers"
)

// madeButFailed makes the create of resource happen in the fake cluster
// and then fail, as a create whose answer is lost does.
func madeButFailed(cs *fake.Clientset, resource string) {
	cs.PrependReactor("create", resource, func(a k8stesting.Action) (bool, runtime.Object, error) {
		ca := a.(k8stesting.CreateAction)
		if err := cs.Tracker().Create(ca.GetResource(), ca.GetObject(), ca.GetNamespace()); err != nil {
			return true, nil, err
		}
		return true, nil, errors.New("read tcp 10.0.0.1:50000->10.0.0.2:6443: read: connection reset by peer")
	})
}

// An object whose create failed on the way back is deleted too.
func TestCreateThatFailedLateIsDeleted(t *testing.T) {
	t.Parallel()
	for _, resource := range []string{"pods", "secrets", "services"} {
		t.Run(resource, func(t *testing.T) {
			t.Parallel()
			cs := fake.NewClientset()
			madeButFailed(cs, resource)
			_, err := launcher(cs, "127.0.0.1:1").Start(context.Background(), "vllm", vllmServer(), servers.Options{RunID: "r", Env: []string{"HF_TOKEN=hf_0123456789"}})
			assert.ErrorContains(t, err, "connection reset by peer")
			assert.DeepEqual(t, leftovers(t, cs), []string(nil))
		})
	}
}

// An object of the same name that exists already is not this server's:
// it is left alone.
func TestAlreadyExistsIsLeftAlone(t *testing.T) {
	t.Parallel()
	cs := fake.NewClientset()
	name := ObjectName("vllm", "r")
	_, err := cs.CoreV1().Pods(testNS).Create(context.Background(), &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: testNS,
		Labels: Labels("r", "vllm_")}}, metav1.CreateOptions{})
	assert.NilError(t, err)
	_, err = launcher(cs, "127.0.0.1:1").Start(context.Background(), "vllm", vllmServer(), servers.Options{RunID: "r"})
	assert.ErrorContains(t, err, "not this server's")
	assert.DeepEqual(t, leftovers(t, cs), []string{"pod/" + name})
}

// The Secret and the Service are owned by the Pod: deleting the pod by
// hand removes them (the garbage collector), and the kubelet waits for
// the Secret, created after the pod.
func TestSecretAndServiceOwnedByThePod(t *testing.T) {
	t.Parallel()
	cs := fake.NewClientset()
	cs.PrependReactor("create", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		p := a.(k8stesting.CreateAction).GetObject().(*corev1.Pod)
		p.UID = types.UID("uid-" + p.Name) // as the API server sets it
		return false, nil, nil
	})
	// The kubelet saw the pod before its Secret: it waits, then runs it.
	fakeKubelet(t, cs, func(p *corev1.Pod) {
		p.Spec.NodeName = "gpu-1"
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: containerName,
			State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CreateContainerConfigError", Message: `secret "` + p.Name + `" not found`}}}}
		go func() {
			time.Sleep(50 * time.Millisecond)
			p := p.DeepCopy()
			running("gpu-1", "sha256:ff")(p)
			_, _ = cs.CoreV1().Pods(testNS).UpdateStatus(context.Background(), p, metav1.UpdateOptions{})
		}()
	})
	in, err := launcher(cs, startSim(t)).Start(context.Background(), "vllm", vllmServer(), servers.Options{RunID: "r", Env: []string{"HF_TOKEN=hf_0123456789"}})
	assert.NilError(t, err)
	name := ObjectName("vllm", "r")
	want := []metav1.OwnerReference{{APIVersion: "v1", Kind: "Pod", Name: name, UID: types.UID("uid-" + name)}}
	sec, err := cs.CoreV1().Secrets(testNS).Get(context.Background(), name, metav1.GetOptions{})
	assert.NilError(t, err)
	assert.DeepEqual(t, sec.OwnerReferences, want)
	svc, err := cs.CoreV1().Services(testNS).Get(context.Background(), name, metav1.GetOptions{})
	assert.NilError(t, err)
	assert.DeepEqual(t, svc.OwnerReferences, want)
	assert.NilError(t, in.Stop(context.Background()))
	assert.DeepEqual(t, leftovers(t, cs), []string(nil))
}

// A pod benchplan may not read fails the start at once, saying which
// permission is missing: waiting does not give it.
func TestPodReadForbiddenFailsAtOnce(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		err  error
		want string
	}{
		{apierrors.NewForbidden(corev1.Resource("pods"), "benchplan-vllm-r", errors.New(`User "ci" cannot get resource "pods" in API group "" in the namespace "bench"`)),
			"needs `get pods` in namespace bench"},
		{apierrors.NewUnauthorized("Unauthorized"), "does not accept the kubeconfig's credentials"},
	} {
		cs := fake.NewClientset()
		cs.PrependReactor("get", "pods", func(k8stesting.Action) (bool, runtime.Object, error) { return true, nil, c.err })
		t0 := time.Now()
		_, err := servers.StartWith(context.Background(), "vllm", vllmServer(), servers.Options{RunID: "r",
			Launchers: map[string]servers.Launcher{"kubernetes": launcher(cs, "127.0.0.1:1").Start}})
		var se *servers.StartError
		assert.Assert(t, errors.As(err, &se), "%v", err) // exit 3
		assert.ErrorContains(t, err, c.want)
		assert.Assert(t, time.Since(t0) < 10*time.Second, "took %s (startup_timeout is 30s)", time.Since(t0))
		assert.DeepEqual(t, leftovers(t, cs), []string(nil))
	}
}

// One failed pull that may pass (a registry's 429) does not fail the
// start: the kubelet retries it.
func TestTransientPullFailureIsWaitedOut(t *testing.T) {
	t.Parallel()
	cs := fake.NewClientset()
	fakeKubelet(t, cs, func(p *corev1.Pod) {
		p.Spec.NodeName = "gpu-1"
		p.Status.Phase = corev1.PodPending
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: containerName, Image: p.Spec.Containers[0].Image,
			State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ErrImagePull",
				Message: `failed to pull and unpack image: unexpected status from HEAD request: 429 Too Many Requests`}}}}
		go func() {
			time.Sleep(100 * time.Millisecond)
			p := p.DeepCopy()
			p.Status.ContainerStatuses[0].State.Waiting = &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff", Message: `Back-off pulling image "vllm/vllm-openai"`}
			_, _ = cs.CoreV1().Pods(testNS).UpdateStatus(context.Background(), p, metav1.UpdateOptions{})
			time.Sleep(100 * time.Millisecond)
			running("gpu-1", "sha256:ff")(p)
			_, _ = cs.CoreV1().Pods(testNS).UpdateStatus(context.Background(), p, metav1.UpdateOptions{})
		}()
	})
	l := launcher(cs, startSim(t))
	l.PullRetryFor = time.Minute
	in, err := l.Start(context.Background(), "vllm", vllmServer(), servers.Options{RunID: "r"})
	assert.NilError(t, err)
	assert.NilError(t, in.Stop(context.Background()))
}
