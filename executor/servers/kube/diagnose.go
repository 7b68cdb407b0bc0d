package kube

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// maxMessage bounds a message read from the cluster (a condition's, a
// container state's, an event's) in benchplan's errors.
const maxMessage = 400

// podState is what a pod's status says about a start.
type podState struct {
	// running: the server's container runs (the health check can begin).
	running bool
	// unschedulable is the scheduler's message while no node can take the pod.
	unschedulable string
	// failure ends the start (or the run): said plainly.
	failure *podFailure
	// waiting is what the pod waits for now, for progress lines.
	waiting string
	// restarts is the container's restart count.
	restarts int32
	// pullFailing is the image pull's failure while it may pass (a
	// registry's 429, a timeout): the kubelet retries; "" otherwise.
	pullFailing string
}

// podFailure is a pod that will not serve: Reason is the Kubernetes
// reason (ImagePullBackOff, Unschedulable, OOMKilled, CrashLoopBackOff,
// ...), Message benchplan's explanation; WantsLogs says that the
// container's last log lines explain it. Exited says that a container
// terminated: its own last lines are read from the API server, whatever
// the followed log holds; Previous that the terminated one is the
// previous instance (the container restarted since), not the current.
type podFailure struct {
	Reason    string
	Message   string
	WantsLogs bool
	Exited    bool
	Previous  bool
}

func (f *podFailure) Error() string { return f.Message }

// fatalWaiting are the waiting reasons that do not get better by waiting.
// ErrImagePull and ImagePullBackOff are among them only when the message
// says so (pullIsFinal).
var fatalWaiting = map[string]string{
	"InvalidImageName":           "its image name is invalid",
	"ErrImageNeverPull":          "its image is not on the node and pull is never",
	"CreateContainerConfigError": "its container cannot be configured",
	"CreateContainerError":       "its container cannot be created",
	"RunContainerError":          "its container cannot be run",
}

// assess reads a pod's status.
func assess(pod *corev1.Pod) podState {
	var st podState
	switch pod.Status.Phase {
	case corev1.PodFailed, corev1.PodSucceeded:
		msg := fmt.Sprintf("pod %s ended (phase %s", pod.Name, pod.Status.Phase)
		if pod.Status.Reason != "" {
			msg += ", " + pod.Status.Reason
		}
		msg += ")"
		if pod.Status.Message != "" {
			msg += ": " + clip(pod.Status.Message)
		}
		reason := pod.Status.Reason
		if reason == "" {
			reason = string(pod.Status.Phase)
		}
		st.failure = &podFailure{Reason: reason, Message: msg, WantsLogs: true}
		if cs := serverStatus(pod); cs != nil {
			if t := cs.State.Terminated; t != nil {
				st.failure = terminated(pod, cs, t, "")
			}
		}
		return st
	}
	if pod.DeletionTimestamp != nil {
		st.failure = &podFailure{Reason: "Deleted", Message: fmt.Sprintf("pod %s is being deleted (by someone other than this run)", pod.Name)}
		return st
	}
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable {
			st.unschedulable = clip(c.Message)
			if st.unschedulable == "" {
				st.unschedulable = "no node can take it"
			}
			st.waiting = "unschedulable: " + st.unschedulable
			return st
		}
	}
	cs := serverStatus(pod)
	if cs == nil {
		st.waiting = "to be scheduled"
		if pod.Spec.NodeName != "" {
			st.waiting = "its container, on node " + pod.Spec.NodeName
		}
		return st
	}
	st.restarts = cs.RestartCount
	switch {
	case cs.State.Terminated != nil:
		st.failure = terminated(pod, cs, cs.State.Terminated, "")
	case cs.State.Waiting != nil && cs.State.Waiting.Reason == "CrashLoopBackOff":
		if t := cs.LastTerminationState.Terminated; t != nil {
			st.failure = terminated(pod, cs, t, "CrashLoopBackOff")
		} else {
			st.failure = &podFailure{Reason: "CrashLoopBackOff", Message: fmt.Sprintf("container %s keeps exiting (CrashLoopBackOff, %d restarts): %s", cs.Name, cs.RestartCount, clip(cs.State.Waiting.Message)), WantsLogs: true}
		}
	case cs.State.Waiting != nil && cs.State.Waiting.Reason == "CreateContainerConfigError" && strings.Contains(cs.State.Waiting.Message, fmt.Sprintf("secret %q not found", pod.Name)):
		// The Secret benchplan creates right after the Pod (it is owned
		// by the Pod): the kubelet retries.
		st.waiting = "its Secret " + pod.Name
	case cs.State.Waiting != nil && (cs.State.Waiting.Reason == "ErrImagePull" || cs.State.Waiting.Reason == "ImagePullBackOff"):
		w := cs.State.Waiting
		if pullIsFinal(w.Message) {
			st.failure = &podFailure{Reason: w.Reason, Message: fmt.Sprintf("image %s cannot be pulled (%s): %s", cs.Image, w.Reason, clip(w.Message))}
			break
		}
		// One registry hiccup (429, a timeout, a reset connection): the
		// kubelet retries with back-off; Launcher.PullRetryFor bounds it.
		st.pullFailing = w.Reason
		if w.Message != "" {
			st.pullFailing += ": " + clip(w.Message)
		}
		st.waiting = "the image pull, which the kubelet retries (" + w.Reason + ")"
	case cs.State.Waiting != nil && fatalWaiting[cs.State.Waiting.Reason] != "":
		w := cs.State.Waiting
		st.failure = &podFailure{Reason: w.Reason, Message: fmt.Sprintf("%s (%s): %s", fatalWaiting[w.Reason], w.Reason, clip(w.Message))}
		if strings.HasPrefix(w.Reason, "ErrImage") {
			st.failure.Message = fmt.Sprintf("image %s cannot be pulled (%s): %s", cs.Image, w.Reason, clip(w.Message))
		}
	case cs.RestartCount > 0 && cs.LastTerminationState.Terminated != nil:
		// Restarted at once (no back-off yet): the first exit decides.
		st.failure = terminated(pod, cs, cs.LastTerminationState.Terminated, "")
	case cs.State.Running != nil:
		st.running = true
	case cs.State.Waiting != nil:
		st.waiting = cs.State.Waiting.Reason
		if st.waiting == "" {
			st.waiting = "its container"
		}
	default:
		st.waiting = "its container"
	}
	return st
}

// finalPull are what a pull error says when retrying will not help: the
// image or tag does not exist, or the registry refuses these credentials.
var finalPull = []string{"not found", "manifest unknown", "name unknown", "does not exist", "unauthorized",
	"authentication required", "denied", "forbidden", "invalid reference format"}

// pullIsFinal reports whether an image pull's message says that retrying
// will not help.
func pullIsFinal(msg string) bool {
	m := strings.ToLower(msg)
	for _, f := range finalPull {
		if strings.Contains(m, f) {
			return true
		}
	}
	return false
}

// terminated explains a container's exit.
func terminated(pod *corev1.Pod, cs *corev1.ContainerStatus, t *corev1.ContainerStateTerminated, loop string) *podFailure {
	how := fmt.Sprintf("exit code %d", t.ExitCode)
	if t.Signal != 0 {
		how += fmt.Sprintf(", signal %d", t.Signal)
	}
	reason := t.Reason
	f := &podFailure{Reason: reason, WantsLogs: true, Exited: true, Previous: t != cs.State.Terminated}
	switch {
	case reason == "OOMKilled":
		f.Message = fmt.Sprintf("container %s was killed: out of memory (OOMKilled, %s)", cs.Name, how)
		if q, ok := limitOf(pod); ok {
			f.Message += ", memory limit " + q
		}
		f.Message += ": raise kubernetes.memory, or lower the server's own memory use (--max-model-len, --gpu-memory-utilization)"
	case reason != "" && reason != "Error" && reason != "Completed":
		f.Message = fmt.Sprintf("container %s exited (%s, %s)", cs.Name, reason, how)
	default:
		f.Message = fmt.Sprintf("container %s exited (%s)", cs.Name, how)
	}
	if t.Message != "" {
		f.Message += ": " + clip(t.Message)
	}
	if loop != "" {
		f.Message += fmt.Sprintf(" and is in %s after %d restart(s)", loop, cs.RestartCount)
		if f.Reason == "" || f.Reason == "Error" || f.Reason == "Completed" {
			f.Reason = loop
		}
	}
	if f.Reason == "" {
		f.Reason = "Error"
	}
	return f
}

// limitOf is the server container's memory limit, if any.
func limitOf(pod *corev1.Pod) (string, bool) {
	for _, c := range pod.Spec.Containers {
		if c.Name == containerName {
			if q, ok := c.Resources.Limits[corev1.ResourceMemory]; ok {
				return q.String(), true
			}
		}
	}
	return "", false
}

// serverStatus is the server container's status, nil before it has one.
func serverStatus(pod *corev1.Pod) *corev1.ContainerStatus {
	for i := range pod.Status.ContainerStatuses {
		if pod.Status.ContainerStatuses[i].Name == containerName {
			return &pod.Status.ContainerStatuses[i]
		}
	}
	return nil
}

// clip bounds a message read from the cluster, on one line.
func clip(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > maxMessage {
		s = s[:maxMessage] + "…"
	}
	return s
}
