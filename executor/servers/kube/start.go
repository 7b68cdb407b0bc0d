package kube

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/benchplan/benchplan/executor/servers"
	"github.com/benchplan/benchplan/plan"
)

// Defaults of a Launcher.
const (
	// DefaultPoll is how often the pod's status is read.
	DefaultPoll = time.Second
	// DefaultPullRetryFor is how long an image pull may keep failing for
	// a reason that may pass (a registry's 429, a timeout, a reset
	// connection) while the kubelet retries it: its back-off (10 s, 20 s,
	// 40 s, 80 s) tries four more times.
	DefaultPullRetryFor = 3 * time.Minute
	// DefaultUnschedulableFor is how long a pod may stay unschedulable
	// before the start fails: long enough for a cluster autoscaler that
	// is already adding a node to say so, short enough for CI.
	DefaultUnschedulableFor = 90 * time.Second
	// cleanupTimeout bounds deleting a server's objects beyond its grace.
	cleanupTimeout = 30 * time.Second
	// maxEvents bounds the events an error message shows.
	maxEvents = 5
	// eventsPage and maxEventsRead bound the events read for it.
	eventsPage    = 100
	maxEventsRead = 1000
	// logTailBytes bounds the previous container's log read after a crash.
	logTailBytes = 64 << 10
	// maxLogResumes bounds how often a broken log stream is resumed.
	maxLogResumes = 5
	// logResumeDelay is the pause before a broken log stream is resumed.
	logResumeDelay = time.Second
)

// Launcher starts kubernetes servers. Its zero value connects with the
// kubeconfig (Connect) and reaches pods through a port-forward.
type Launcher struct {
	// Connect returns the cluster for a server's kubernetes block;
	// default: Connect with its kubeconfig and context.
	Connect func(k *plan.Kubernetes, env []string) (*Cluster, error)
	// Forwarder reaches a pod's port from here; default: PortForwarder
	// (client-go's port-forward through the API server).
	Forwarder Forwarder
	// Poll is how often the pod's status is read (default DefaultPoll).
	Poll time.Duration
	// UnschedulableFor is how long a pod may stay unschedulable (default
	// DefaultUnschedulableFor; negative: fail at once).
	UnschedulableFor time.Duration
	// PullRetryFor is how long an image pull may keep failing for a
	// reason that may pass (default DefaultPullRetryFor; negative: fail
	// at once). A pull the registry refuses for good (not found,
	// unauthorized, manifest unknown) fails at once.
	PullRetryFor time.Duration
}

// Start is the default Launcher's Start: a servers.Launcher for
// plan.KindKubernetes.
func Start(ctx context.Context, name string, s *plan.Server, o servers.Options) (*servers.Instance, error) {
	return (&Launcher{}).Start(ctx, name, s, o)
}

func (l *Launcher) poll() time.Duration {
	if l.Poll > 0 {
		return l.Poll
	}
	return DefaultPoll
}

func (l *Launcher) unschedulableFor() time.Duration {
	return waitOrDefault(l.UnschedulableFor, DefaultUnschedulableFor)
}

func (l *Launcher) pullRetryFor() time.Duration {
	return waitOrDefault(l.PullRetryFor, DefaultPullRetryFor)
}

// waitOrDefault reads a Launcher's wait: negative is none (fail at once),
// zero is the default.
func waitOrDefault(d, def time.Duration) time.Duration {
	switch {
	case d < 0:
		return 0
	case d == 0:
		return def
	}
	return d
}

// errStartupTimeout is the cause of a start that ran out of time before
// the server's container ran.
var errStartupTimeout = errors.New("startup timeout")

// Start creates the server's Secret (when it has secret values), Pod and
// Service, waits until the pod's container runs and the server answers
// its health path, and returns the server ready for requests. Whatever
// ends the start early (a failure, ctx), everything it created is
// deleted, with a fresh bounded context.
func (l *Launcher) Start(ctx context.Context, name string, s *plan.Server, o servers.Options) (*servers.Instance, error) {
	connect := l.Connect
	if connect == nil {
		connect = connectFor
	}
	ks := s.Kubernetes
	if ks != nil && ks.Kubeconfig != "" {
		c := *ks
		c.Kubeconfig = KubeconfigPath(o.Dir, ks.Kubeconfig, o.Env)
		ks = &c
	}
	cl, err := connect(ks, o.Env)
	if err != nil {
		return nil, err
	}
	obj, err := BuildObjects(name, s, cl.Namespace, o)
	if err != nil {
		return nil, err
	}
	redact := servers.ServerRedactor(s, o.Secrets, obj.Secrets...)
	lg, err := servers.OpenServerLog(o.LogDir, name, redact)
	if err != nil {
		return nil, err
	}
	progress := o.Log
	if progress == nil {
		progress = io.Discard
	}
	k := &started{l: l, cl: cl, obj: obj, lg: lg, name: name, progress: progress, grace: o.StopGrace}
	in, err := k.start(ctx, s, o)
	if err != nil {
		lg.Notef("not started: %v", err)
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
		if derr := k.delete(cctx, 0); derr != nil {
			err = fmt.Errorf("%w (and its objects could not all be deleted: %v; run benchplan cleanup --kubernetes)", err, derr)
		}
		cancel()
		k.closeLog()
		return nil, err
	}
	return in, nil
}

// started is one server's objects in the cluster and what follows them.
type started struct {
	l        *Launcher
	cl       *Cluster
	obj      *Objects
	lg       *servers.ServerLog
	name     string
	progress io.Writer
	grace    time.Duration

	created   []string // kinds created: "secret", "pod", "service"
	stopFwd   func()
	logCancel context.CancelFunc
	logsDone  chan struct{}
	stopping  atomic.Bool
	closeOnce sync.Once
}

func (k *started) pods() podClient {
	return k.cl.Client.CoreV1().Pods(k.obj.Namespace)
}

type podClient interface {
	Get(ctx context.Context, name string, opts metav1.GetOptions) (*corev1.Pod, error)
}

func (k *started) start(ctx context.Context, s *plan.Server, o servers.Options) (*servers.Instance, error) {
	obj := k.obj
	ns := obj.Namespace
	core := k.cl.Client.CoreV1()
	podName := obj.Pod.Name
	fmt.Fprintf(k.progress, "server %s: creating pod %s/%s from %s on %s\n", k.name, ns, podName, obj.Pod.Spec.Containers[0].Image, k.cl.Host)
	k.lg.Notef("creating pod %s/%s from %s, arguments: %s", ns, podName, obj.Pod.Spec.Containers[0].Image,
		strings.Join(servers.ServerRedactor(s, o.Secrets, obj.Secrets...).Args(obj.Args), " "))
	// A create is not cut short by ctx (a signal): a cancelled request
	// the API server still completes would leave an object this start
	// does not know it made. Creates are quick; each is bounded.
	cctx, ccancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer ccancel()
	// The Pod first: the Secret and the Service are owned by it (deleting
	// the pod by hand removes them too). Until the Secret exists the
	// kubelet cannot configure the container: assess waits for it.
	created, err := k.create("pod", ns, func() (metav1.Object, error) {
		return core.Pods(ns).Create(cctx, obj.Pod, metav1.CreateOptions{})
	})
	if err != nil {
		return nil, err
	}
	owner := []metav1.OwnerReference{{APIVersion: "v1", Kind: "Pod", Name: created.GetName(), UID: created.GetUID()}}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if obj.Secret != nil {
		obj.Secret.OwnerReferences = owner
		if _, err := k.create("secret", ns, func() (metav1.Object, error) {
			return core.Secrets(ns).Create(cctx, obj.Secret, metav1.CreateOptions{})
		}); err != nil {
			return nil, err
		}
	}
	obj.Service.OwnerReferences = owner
	if _, err := k.create("service", ns, func() (metav1.Object, error) {
		return core.Services(ns).Create(cctx, obj.Service, metav1.CreateOptions{})
	}); err != nil {
		return nil, err
	}

	timeout := servers.StartupTimeout(s, servers.DefaultContainerStartup)
	t0 := time.Now()
	deadline := t0.Add(timeout)
	rctx, fail := context.WithCancelCause(ctx)
	defer fail(nil)
	tctx, cancel := context.WithDeadlineCause(rctx, deadline, errStartupTimeout)
	defer cancel()

	// One watcher reads the pod's status until the start ends: it says
	// when the container runs, and ends the start at the first failure.
	running := make(chan *corev1.Pod, 1)
	var last atomic.Pointer[podState]
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		k.watch(tctx, podName, running, &last, fail)
	}()
	defer func() { cancel(); <-watchDone }()

	var pod *corev1.Pod
	select {
	case pod = <-running:
	case <-tctx.Done():
		return nil, k.startFailure(ctx, tctx, &last, timeout, t0)
	}
	k.followLogs(podName)
	fmt.Fprintf(k.progress, "server %s: pod %s runs on node %s; waiting for %s\n", k.name, podName, pod.Spec.NodeName, obj.Health)
	k.lg.Notef("pod %s runs on node %s (image %s)", podName, pod.Spec.NodeName, imageID(pod))

	in := &servers.Instance{Name: k.name, Kind: plan.KindKubernetes, APIKey: s.APIKey, Headers: s.Headers,
		Image: obj.Pod.Spec.Containers[0].Image, Digest: digestOf(imageID(pod)), Node: pod.Spec.NodeName,
		Pod: ns + "/" + podName, LogPath: k.lg.Path()}
	in.GPUModel, in.Warnings = k.nodeGPU(ctx, pod.Spec.NodeName)

	access := AccessPortForward
	if ks := s.Kubernetes; ks != nil && ks.Access == plan.AccessService || (ks == nil || ks.Access == "" || ks.Access == plan.AccessAuto) && k.cl.InCluster {
		access = AccessService
	}
	if access == AccessService {
		in.URL = fmt.Sprintf("http://%s.%s.svc:%d", obj.Service.Name, ns, obj.Port)
	} else {
		fw := k.l.Forwarder
		if fw == nil {
			fw = PortForwarder{}
		}
		addr, stop, err := fw.Forward(tctx, k.cl, ns, podName, obj.Port)
		if err != nil {
			if tctx.Err() != nil {
				return nil, k.startFailure(ctx, tctx, &last, timeout, t0)
			}
			return nil, fmt.Errorf("cannot forward a local port to pod %s/%s port %d: %w", ns, podName, obj.Port, err)
		}
		k.stopFwd = stop
		in.URL = "http://" + addr
	}
	k.lg.Notef("waiting for %s%s (%s)", in.URL, obj.Health, access)

	err = servers.WaitReady(tctx, servers.ReadyCheck{Name: k.name, URL: in.URL, Health: obj.Health, Explicit: obj.HealthExplicit,
		APIKey: s.APIKey, Headers: s.Headers, Timeout: time.Until(deadline), Log: k.progress})
	if err == nil {
		err = in.Describe(tctx, s, false)
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		var pf *podFailure
		if errors.As(context.Cause(rctx), &pf) {
			return nil, k.explain(pf)
		}
		return nil, fmt.Errorf("%w%s", err, k.lg.DescribeTail())
	}
	k.lg.Notef("ready at %s", in.URL)
	restarts := last.Load().restarts
	in.SetLifecycle(servers.Lifecycle{
		Stop: k.stop,
		Kill: func(ctx context.Context) error { return k.delete(ctx, 0) },
		Check: func(ctx context.Context) error {
			if k.stopping.Load() {
				return nil
			}
			return k.check(ctx, podName, restarts)
		},
	})
	return in, nil
}

// AccessPortForward and AccessService are how benchplan reaches a pod.
const (
	AccessPortForward = plan.AccessPortForward
	AccessService     = plan.AccessService
)

// watch reads the pod's status every poll until ctx ends: it sends the pod
// on running once its container runs, and cancels the start with a
// *podFailure at the first failure (an unschedulable pod after
// UnschedulableFor).
func (k *started) watch(ctx context.Context, podName string, running chan<- *corev1.Pod, last *atomic.Pointer[podState], fail context.CancelCauseFunc) {
	t := time.NewTicker(k.l.poll())
	defer t.Stop()
	var unschedSince, pullSince time.Time
	var lastPull string
	sent := false
	var lastWaiting string
	for {
		pod, err := k.pods().Get(ctx, podName, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			fail(&podFailure{Reason: "Deleted", Message: fmt.Sprintf("pod %s/%s was deleted (by someone other than this run)", k.obj.Namespace, podName)})
			return
		case apierrors.IsForbidden(err) || apierrors.IsUnauthorized(err):
			// Waiting does not give a permission: say which one is missing.
			fail(&podFailure{Reason: "Forbidden", Message: readDenied(k.obj.Namespace, podName, err)})
			return
		case err != nil:
			// The API server may be busy: the deadline decides.
		default:
			st := assess(pod)
			last.Store(&st)
			if st.unschedulable != "" {
				if unschedSince.IsZero() {
					unschedSince = time.Now()
				}
				if time.Since(unschedSince) >= k.l.unschedulableFor() {
					fail(&podFailure{Reason: "Unschedulable", Message: fmt.Sprintf("pod %s/%s cannot be scheduled: %s%s", k.obj.Namespace, podName, st.unschedulable, k.gpuHint(pod))})
					return
				}
			} else {
				unschedSince = time.Time{}
			}
			if st.pullFailing != "" {
				if pullSince.IsZero() {
					pullSince = time.Now()
				}
				if strings.HasPrefix(st.pullFailing, "ErrImagePull") || lastPull == "" {
					lastPull = st.pullFailing // the back-off's message says less
				}
				if d := time.Since(pullSince); d >= k.l.pullRetryFor() {
					fail(&podFailure{Reason: "ImagePullBackOff", Message: fmt.Sprintf("image %s cannot be pulled: the pull kept failing for %s (%s)",
						k.obj.Pod.Spec.Containers[0].Image, d.Round(time.Second), lastPull)})
					return
				}
			} else {
				pullSince = time.Time{}
			}
			if st.failure != nil {
				fail(st.failure)
				return
			}
			if st.waiting != "" && st.waiting != lastWaiting {
				lastWaiting = st.waiting
				fmt.Fprintf(k.progress, "server %s: pod %s is waiting for %s\n", k.name, podName, st.waiting)
			}
			if st.running && !sent {
				sent = true
				running <- pod
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// gpuHint adds what the pod asked for to an unschedulable message.
func (k *started) gpuHint(pod *corev1.Pod) string {
	var asked []string
	for _, c := range pod.Spec.Containers {
		if q, ok := c.Resources.Limits[GPUResource]; ok {
			asked = append(asked, q.String()+" "+GPUResource)
		}
	}
	if len(pod.Spec.NodeSelector) > 0 {
		var sel []string
		for key, v := range pod.Spec.NodeSelector {
			sel = append(sel, key+"="+v)
		}
		slices.Sort(sel)
		asked = append(asked, "node selector "+strings.Join(sel, ","))
	}
	if len(asked) == 0 {
		return ""
	}
	return " (it asks for " + strings.Join(asked, ", ") + ")"
}

// startFailure explains a start that ended before the server answered.
func (k *started) startFailure(ctx, tctx context.Context, last *atomic.Pointer[podState], timeout time.Duration, t0 time.Time) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	cause := context.Cause(tctx)
	var pf *podFailure
	if errors.As(cause, &pf) {
		return k.explain(pf)
	}
	if errors.Is(cause, errStartupTimeout) {
		what := "its pod was not read yet"
		if st := last.Load(); st != nil && st.waiting != "" {
			what = "its pod still waits for " + st.waiting
		}
		return fmt.Errorf("not ready within %s (startup_timeout): %s%s", timeout, what, k.events(context.WithoutCancel(ctx)))
	}
	return fmt.Errorf("start ended after %s: %w", time.Since(t0).Round(time.Second), cause)
}

// explain is a pod failure with its evidence: the container's last log
// lines (of the exited one, after a crash) or the pod's last events.
func (k *started) explain(pf *podFailure) error {
	err := fmt.Errorf("%w", pf)
	if pf.WantsLogs {
		k.waitLogs(time.Second)
		if pf.Exited || len(k.lg.Tail()) == 0 {
			k.exitedLogs(pf.Previous)
		}
		return fmt.Errorf("%w%s", err, k.lg.DescribeTail())
	}
	if pf.Reason == "Unschedulable" || pf.Reason == "Forbidden" || strings.Contains(pf.Reason, "Image") {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return fmt.Errorf("%w%s", err, k.events(ctx))
}

// exitedLogs copies the last lines of the container that exited (the
// previous instance when previous, else the current one; the other when
// that has no log) into the server log, bounded: the followed log may
// have missed them (a stream that broke), or hold only the current
// instance's.
func (k *started) exitedLogs(previous bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tail := int64(servers.TailLines)
	limit := int64(logTailBytes)
	var errs []string
	for _, prev := range []bool{previous, !previous} {
		rc, err := k.cl.streams().CoreV1().Pods(k.obj.Namespace).GetLogs(k.obj.Pod.Name, &corev1.PodLogOptions{Container: containerName, Previous: prev, TailLines: &tail, LimitBytes: &limit}).Stream(ctx)
		if err != nil {
			errs = append(errs, shortAPIError(err))
			continue
		}
		which := "current"
		if prev {
			which = "previous"
		}
		k.lg.Notef("the last lines of the exited container (its %s instance), as the API server keeps them:", which)
		_, err = io.Copy(k.lg, io.LimitReader(rc, logTailBytes))
		_, _ = k.lg.Write([]byte("\n"))
		rc.Close()
		if err != nil {
			k.lg.Notef("reading them failed: %v (they may be incomplete)", err)
		}
		return
	}
	k.lg.Notef("cannot read the exited container's log: %s", strings.Join(errs, "; "))
}

// events are the pod's last events (at most maxEvents), for a message.
// The API server lists them in key order, not by time: every page is
// read (bounded by maxEventsRead), then they are sorted by when they last
// happened.
func (k *started) events(ctx context.Context) string {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var items []corev1.Event
	opts := metav1.ListOptions{FieldSelector: "involvedObject.name=" + k.obj.Pod.Name, Limit: eventsPage}
	for len(items) < maxEventsRead {
		list, err := k.cl.Client.CoreV1().Events(k.obj.Namespace).List(ctx, opts)
		if err != nil {
			break
		}
		items = append(items, list.Items...)
		if list.Continue == "" {
			break
		}
		opts.Continue = list.Continue
	}
	slices.SortStableFunc(items, func(a, b corev1.Event) int { return eventTime(a).Compare(eventTime(b)) })
	var lines []string
	for _, e := range items {
		if e.InvolvedObject.Name != k.obj.Pod.Name {
			continue
		}
		lines = append(lines, fmt.Sprintf("%s %s: %s", e.Type, e.Reason, clip(e.Message)))
	}
	if len(lines) == 0 {
		return ""
	}
	if len(lines) > maxEvents {
		lines = lines[len(lines)-maxEvents:]
	}
	return "; last events of the pod:\n    | " + strings.Join(lines, "\n    | ")
}

// eventTime is when an event last happened: its series' last
// observation, its last timestamp, its event time, its first timestamp,
// its creation.
func eventTime(e corev1.Event) time.Time {
	switch {
	case e.Series != nil && !e.Series.LastObservedTime.IsZero():
		return e.Series.LastObservedTime.Time
	case !e.LastTimestamp.IsZero():
		return e.LastTimestamp.Time
	case !e.EventTime.IsZero():
		return e.EventTime.Time
	case !e.FirstTimestamp.IsZero():
		return e.FirstTimestamp.Time
	}
	return e.CreationTimestamp.Time
}

// followLogs streams the server container's output into the log until the
// server stops. The stream has no overall timeout (Cluster.Streams); one
// that breaks (a proxy's idle timeout, an API server restart) is said in
// the log and resumed from the second it broke, a few times.
func (k *started) followLogs(podName string) {
	ctx, cancel := context.WithCancel(context.Background())
	k.logCancel = cancel
	k.logsDone = make(chan struct{})
	go func() {
		defer close(k.logsDone)
		opts := &corev1.PodLogOptions{Container: containerName, Follow: true}
		for resumes := 0; ; resumes++ {
			rc, err := k.cl.streams().CoreV1().Pods(k.obj.Namespace).GetLogs(podName, opts).Stream(ctx)
			if err != nil {
				if ctx.Err() == nil {
					k.lg.Notef("cannot follow the pod's log: %v; this file misses its output from here (the exited container's last lines are read on a failure)", shortAPIError(err))
				}
				return
			}
			n, err := io.Copy(k.lg, rc)
			rc.Close()
			if ctx.Err() != nil || err == nil {
				return // stopped, or the container exited (its stream ends)
			}
			if resumes >= maxLogResumes {
				k.lg.Notef("the pod's log stream broke after %d bytes: %v; not resumed again: this file misses the rest of the output", n, err)
				return
			}
			since := metav1.NewTime(time.Now().Add(-time.Second).Truncate(time.Second))
			k.lg.Notef("the pod's log stream broke after %d bytes: %v; resuming from %s (lines around the break may be missing or repeated)", n, err, since.UTC().Format(time.RFC3339))
			opts = &corev1.PodLogOptions{Container: containerName, Follow: true, SinceTime: &since}
			select {
			case <-ctx.Done():
				return
			case <-time.After(logResumeDelay):
			}
		}
	}()
}

// waitLogs lets the log stream catch up with a container that exited.
func (k *started) waitLogs(d time.Duration) {
	if k.logsDone == nil {
		return
	}
	select {
	case <-k.logsDone:
	case <-time.After(d):
	}
}

// nodeGPU reads the node's GPU model label; a node benchplan may not read
// (RBAC) is a warning.
func (k *started) nodeGPU(ctx context.Context, node string) (string, []string) {
	if node == "" {
		return "", nil
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	n, err := k.cl.Client.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
	if err != nil {
		return "", []string{fmt.Sprintf("server %s: cannot read node %s for its GPU model: %v", k.name, node, shortAPIError(err))}
	}
	return n.Labels[GPUProductLabel], nil
}

// check reports whether the pod stopped serving: deleted, ended, or its
// container restarted since it was ready.
func (k *started) check(ctx context.Context, podName string, restarts int32) error {
	pod, err := k.pods().Get(ctx, podName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return &servers.ExitedError{Server: k.name, How: "its pod " + podName + " was deleted"}
	}
	if err != nil || k.stopping.Load() {
		return nil
	}
	st := assess(pod)
	cs := serverStatus(pod)
	var how string
	switch {
	case st.failure != nil:
		how = st.failure.Message
	case cs != nil && cs.RestartCount > restarts:
		how = fmt.Sprintf("container %s restarted (%d restart(s))", cs.Name, cs.RestartCount)
		if t := cs.LastTerminationState.Terminated; t != nil {
			how = terminated(pod, cs, t, "").Message + " and restarted"
		}
	default:
		return nil
	}
	k.waitLogs(time.Second)
	// The exited container's own last lines: the followed stream ended
	// with the container, or broke before.
	switch {
	case st.failure == nil:
		k.exitedLogs(true)
	case st.failure.Exited:
		k.exitedLogs(st.failure.Previous)
	}
	return &servers.ExitedError{Server: k.name, How: how + k.lg.DescribeTail()}
}

// stop deletes the server's objects, giving the pod its grace period, and
// waits (bounded by ctx) until the pod is gone, so that its GPUs are free.
func (k *started) stop(ctx context.Context) error {
	k.stopping.Store(true)
	fmt.Fprintf(k.progress, "server %s: deleting pod %s/%s\n", k.name, k.obj.Namespace, k.obj.Pod.Name)
	err := k.delete(ctx, k.grace)
	if err == nil {
		k.lg.Notef("pod %s/%s and its service deleted", k.obj.Namespace, k.obj.Pod.Name)
	} else {
		k.lg.Notef("could not delete everything: %v", err)
	}
	k.closeLog()
	return err
}

func (k *started) closeLog() {
	k.closeOnce.Do(func() {
		if k.stopFwd != nil {
			k.stopFwd()
		}
		if k.logCancel != nil {
			k.waitLogs(2 * time.Second)
			k.logCancel()
		}
		_ = k.lg.Close()
	})
}

// delete deletes what the start created: the Service and the Secret at
// once, the pod with grace (0: at once); with grace it waits until the pod
// is gone, deleting it again at once when the grace has passed.
func (k *started) delete(ctx context.Context, grace time.Duration) error {
	k.stopping.Store(true)
	core := k.cl.Client.CoreV1()
	ns, name := k.obj.Namespace, k.obj.Pod.Name
	var errs []error
	ignore := func(err error) error {
		if err == nil || apierrors.IsNotFound(err) {
			return nil
		}
		return err
	}
	bg := metav1.DeletePropagationBackground
	if slices.Contains(k.created, "service") {
		if err := ignore(core.Services(ns).Delete(ctx, name, metav1.DeleteOptions{PropagationPolicy: &bg})); err != nil {
			errs = append(errs, fmt.Errorf("service %s/%s: %w", ns, name, err))
		}
	}
	if slices.Contains(k.created, "secret") {
		if err := ignore(core.Secrets(ns).Delete(ctx, name, metav1.DeleteOptions{})); err != nil {
			errs = append(errs, fmt.Errorf("secret %s/%s: %w", ns, name, err))
		}
	}
	if slices.Contains(k.created, "pod") {
		if err := k.deletePod(ctx, grace); err != nil {
			errs = append(errs, fmt.Errorf("pod %s/%s: %w", ns, name, err))
		}
	}
	return errors.Join(errs...)
}

func (k *started) deletePod(ctx context.Context, grace time.Duration) error {
	pods := k.cl.Client.CoreV1().Pods(k.obj.Namespace)
	name := k.obj.Pod.Name
	secs := int64(grace / time.Second)
	if err := pods.Delete(ctx, name, metav1.DeleteOptions{GracePeriodSeconds: &secs}); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		return err
	}
	if grace <= 0 {
		return nil
	}
	// Wait for the kubelet to stop it; after the grace, delete it at once.
	forceAt := time.Now().Add(grace + 5*time.Second)
	t := time.NewTicker(k.l.poll())
	defer t.Stop()
	for {
		_, err := pods.Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		if !forceAt.IsZero() && time.Now().After(forceAt) {
			zero := int64(0)
			if err := pods.Delete(ctx, name, metav1.DeleteOptions{GracePeriodSeconds: &zero}); err != nil && !apierrors.IsNotFound(err) {
				return err
			}
			forceAt = time.Time{}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("still terminating: %w", ctx.Err())
		case <-t.C:
		}
	}
}

// create creates one of the server's objects. The kind is recorded as
// created before the request: a create that fails on the way back (a
// timeout, a connection reset) may still have made the object, and the
// deletion, which ignores NotFound, then removes it. AlreadyExists is the
// exception: the names hold the run's id (random for each run), so the
// object is another server's of this run whose name comes out the same
// (names are made DNS labels and shortened), or someone else's; it is
// left alone.
func (k *started) create(kind, ns string, do func() (metav1.Object, error)) (metav1.Object, error) {
	k.created = append(k.created, kind)
	o, err := do()
	if err != nil {
		if apierrors.IsAlreadyExists(err) {
			k.created = slices.DeleteFunc(k.created, func(c string) bool { return c == kind })
		}
		return nil, createError(kind, ns, err)
	}
	return o, nil
}

// createError explains a refused create.
func createError(what, ns string, err error) error {
	switch {
	case apierrors.IsForbidden(err):
		return fmt.Errorf("may not create a %s in namespace %s: %v (the kubeconfig's user needs create, get, list, delete on pods, pods/log, pods/portforward, services and secrets there)", what, ns, shortAPIError(err))
	case apierrors.IsNotFound(err):
		return fmt.Errorf("cannot create a %s: namespace %s does not exist? %v", what, ns, shortAPIError(err))
	case apierrors.IsAlreadyExists(err):
		return fmt.Errorf("cannot create the %s: %v (not this server's: another server of the plan whose name makes the same object name? it is left alone)", what, shortAPIError(err))
	}
	return fmt.Errorf("cannot create the %s in namespace %s: %w", what, ns, err)
}

// readDenied explains a pod that benchplan may not read.
func readDenied(ns, pod string, err error) string {
	if apierrors.IsUnauthorized(err) {
		return fmt.Sprintf("cannot read pod %s/%s: the API server does not accept the kubeconfig's credentials (Unauthorized: expired token or certificate?): %s", ns, pod, shortAPIError(err))
	}
	return fmt.Sprintf("may not read pod %s/%s: the kubeconfig's user needs `get pods` in namespace %s (and create, get, list, delete on pods, pods/log, pods/portforward, services and secrets there): %s", ns, pod, ns, shortAPIError(err))
}

func shortAPIError(err error) string { return clip(err.Error()) }

// imageID is the server container's image id (its digest), "" before it runs.
func imageID(pod *corev1.Pod) string {
	if cs := serverStatus(pod); cs != nil {
		return cs.ImageID
	}
	return ""
}

// digestOf is the sha256:... digest in an image id
// (docker-pullable://repo@sha256:..., repo@sha256:..., sha256:...).
func digestOf(id string) string {
	if i := strings.LastIndex(id, "@"); i >= 0 {
		id = id[i+1:]
	}
	if strings.HasPrefix(id, "sha256:") {
		return id
	}
	return ""
}
