package kube

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/benchplan/benchplan/executor/servers"
	"github.com/benchplan/benchplan/internal/secret"
	"github.com/benchplan/benchplan/plan"
)

// containerName is the server's container in its pod.
const containerName = "server"

// Objects are what benchplan creates in the cluster for one server.
type Objects struct {
	Namespace string
	Pod       *corev1.Pod
	Service   *corev1.Service
	// Secret holds the server's secret environment values (api_key,
	// HF_TOKEN, secret-looking env), referenced from the pod by key; nil
	// when there are none.
	Secret *corev1.Secret
	// Port is the port the server serves in the pod; Health its readiness
	// path, HealthExplicit whether the plan set it.
	Port           int
	Health         string
	HealthExplicit bool
	// Secrets are the values the Secret holds, for redaction.
	Secrets []string
	// Args is the server's command line as the plan makes it; the pod's
	// has $(VAR) in place of its secret values (argSecrets).
	Args []string
}

// BuildObjects makes the Pod, Service and Secret of server name from the
// plan: the preset's image, command line, port and cache directory; env
// in clear for plain values and through a Secret for secret ones;
// nvidia.com/gpu limits; /dev/shm as a memory-backed emptyDir; the
// Hugging Face cache as a claim or a node path; node selector,
// tolerations, service account; labels with the run's id. Nothing is sent.
func BuildObjects(name string, s *plan.Server, namespace string, o servers.Options) (*Objects, error) {
	var pre servers.Preset
	if s.Preset != "" {
		p, ok := servers.Presets[s.Preset]
		if !ok {
			return nil, fmt.Errorf("unknown preset %q", s.Preset)
		}
		pre = p
	}
	k := s.Kubernetes
	if k == nil {
		k = &plan.Kubernetes{}
	}
	if k.Namespace != "" {
		namespace = k.Namespace
	}
	image := s.Image
	if image == "" {
		image = pre.Image
	}
	if image == "" {
		return nil, fmt.Errorf("has no image: give `image:` or a preset")
	}
	port := s.Port
	if port == 0 {
		port = pre.Port
	}
	if port <= 0 || port > 65535 {
		return nil, fmt.Errorf("needs `port:`, the port it serves inside the container")
	}
	obj := &Objects{Namespace: namespace, Port: port, Health: s.Health, HealthExplicit: s.Health != ""}
	if obj.Health == "" {
		obj.Health = servers.DefaultHealth
	}
	objName := ObjectName(name, o.RunID)
	labels := Labels(o.RunID, name)
	meta := metav1.ObjectMeta{Name: objName, Namespace: namespace, Labels: labels,
		Annotations: map[string]string{ServerAnnotation: name}}

	cmd, env := servers.PresetCommand(s)
	if s.Preset != "" && env[servers.HFTokenEnv] == "" && k.SecretEnv[servers.HFTokenEnv].Secret == "" {
		if tok := servers.Getenv(o.Env, servers.HFTokenEnv); tok != "" {
			env[servers.HFTokenEnv] = tok
		}
	}
	if env[servers.HFTokenEnv] == "" {
		delete(env, servers.HFTokenEnv) // an empty token is no token
	}
	// A value is kept out of the manifest when its name looks secret
	// (HF_TOKEN, *_API_KEY, ...), when it is the server's api_key, or when
	// it holds a credential the plan interpolated from the environment.
	secretVals := append(append([]string{s.APIKey}, o.Secrets...), secret.NamedSecrets(s.Env)...)
	isSecret := func(name, v string) bool {
		if name == servers.HFTokenEnv || name == "VLLM_API_KEY" || slices.Contains(secret.NamedSecrets(map[string]string{name: v}), v) {
			return true
		}
		for _, sv := range secretVals {
			if sv != "" && strings.Contains(v, sv) {
				return true
			}
		}
		return false
	}
	var envVars []corev1.EnvVar
	secretData := map[string][]byte{}
	for _, n := range slices.Sorted(maps.Keys(env)) {
		v := env[n]
		if isSecret(n, v) {
			key := secretKey(n, secretData)
			secretData[key] = []byte(v)
			obj.Secrets = append(obj.Secrets, v)
			envVars = append(envVars, corev1.EnvVar{Name: n, ValueFrom: &corev1.EnvVarSource{
				SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: objName}, Key: key}}})
			continue
		}
		envVars = append(envVars, corev1.EnvVar{Name: n, Value: v})
	}
	for _, n := range slices.Sorted(maps.Keys(k.SecretEnv)) {
		ref := k.SecretEnv[n]
		envVars = append(envVars, corev1.EnvVar{Name: n, ValueFrom: &corev1.EnvVarSource{
			SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: ref.Secret}, Key: ref.Key, Optional: optional(ref.Optional)}}})
	}
	// Secret values in the command line (`--api-key ${KEY}`) go through
	// the Secret too: the argument becomes $(VAR), which the kubelet
	// expands from the container's environment.
	obj.Args = cmd
	args, argVars := argSecrets(cmd, append(append([]string(nil), secretVals...), obj.Secrets...))
	for _, av := range argVars {
		key := secretKey(av.name, secretData)
		secretData[key] = []byte(av.value)
		obj.Secrets = append(obj.Secrets, av.value)
		envVars = append(envVars, corev1.EnvVar{Name: av.name, ValueFrom: &corev1.EnvVarSource{
			SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: objName}, Key: key}}})
	}
	var envFrom []corev1.EnvFromSource
	for _, n := range k.EnvFromSecrets {
		envFrom = append(envFrom, corev1.EnvFromSource{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: n}}})
	}
	if len(secretData) > 0 {
		obj.Secret = &corev1.Secret{ObjectMeta: *meta.DeepCopy(), Type: corev1.SecretTypeOpaque, Data: secretData}
	}

	res := corev1.ResourceRequirements{Limits: corev1.ResourceList{}, Requests: corev1.ResourceList{}}
	if n := gpuCount(s.GPUs, s.Preset != ""); n > 0 {
		res.Limits[GPUResource] = *resource.NewQuantity(int64(n), resource.DecimalSI)
	}
	if k.Memory != nil {
		q := *resource.NewQuantity(int64(*k.Memory), resource.BinarySI)
		res.Limits[corev1.ResourceMemory] = q
		res.Requests[corev1.ResourceMemory] = q
	}
	if k.CPU != "" {
		q, err := resource.ParseQuantity(k.CPU)
		if err != nil {
			return nil, fmt.Errorf("kubernetes.cpu %q: %w", k.CPU, err)
		}
		res.Requests[corev1.ResourceCPU] = q
	}
	if len(res.Limits) == 0 {
		res.Limits = nil
	}
	if len(res.Requests) == 0 {
		res.Requests = nil
	}

	var vols []corev1.Volume
	var mounts []corev1.VolumeMount
	// /dev/shm: memory-backed, sized by shm_size (tgi: 1 GiB); vLLM's
	// tensor parallelism, which shares the host's IPC on Docker, gets an
	// unsized one.
	shm := pre.ShmSize
	if s.ShmSize != nil {
		shm = int64(*s.ShmSize)
	}
	if shm > 0 || pre.IPCHost {
		ed := &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory}
		if shm > 0 {
			q := resource.NewQuantity(shm, resource.BinarySI)
			ed.SizeLimit = q
		}
		vols = append(vols, corev1.Volume{Name: "dshm", VolumeSource: corev1.VolumeSource{EmptyDir: ed}})
		mounts = append(mounts, corev1.VolumeMount{Name: "dshm", MountPath: "/dev/shm"})
	}
	if hc := k.HFCache; hc != nil {
		mount := pre.CacheDir
		if mount == "" {
			mount = servers.DefaultHFCacheMount
		}
		var src corev1.VolumeSource
		if hc.PVC != "" {
			src.PersistentVolumeClaim = &corev1.PersistentVolumeClaimVolumeSource{ClaimName: hc.PVC, ReadOnly: hc.ReadOnly}
		} else {
			t := corev1.HostPathDirectoryOrCreate
			src.HostPath = &corev1.HostPathVolumeSource{Path: hc.HostPath, Type: &t}
		}
		vols = append(vols, corev1.Volume{Name: "hf-cache", VolumeSource: src})
		mounts = append(mounts, corev1.VolumeMount{Name: "hf-cache", MountPath: mount, ReadOnly: hc.ReadOnly})
	}

	var tols []corev1.Toleration
	for _, t := range k.Tolerations {
		tols = append(tols, corev1.Toleration{Key: t.Key, Operator: corev1.TolerationOperator(t.Operator), Value: t.Value,
			Effect: corev1.TaintEffect(t.Effect), TolerationSeconds: t.TolerationSeconds})
	}
	var pullSecrets []corev1.LocalObjectReference
	for _, n := range k.ImagePullSecrets {
		pullSecrets = append(pullSecrets, corev1.LocalObjectReference{Name: n})
	}
	grace := int64(max(o.StopGrace, time.Second) / time.Second)
	automount := k.ServiceAccount != ""
	c := corev1.Container{
		Name:            containerName,
		Image:           image,
		Args:            args,
		Env:             envVars,
		EnvFrom:         envFrom,
		Ports:           []corev1.ContainerPort{{Name: "http", ContainerPort: int32(port), Protocol: corev1.ProtocolTCP}},
		Resources:       res,
		VolumeMounts:    mounts,
		ImagePullPolicy: pullPolicy(s.Pull),
	}
	if s.Preset != "" || obj.HealthExplicit {
		// The kubelet's view of readiness: the Service sends requests only
		// to a ready pod. Model loading takes minutes: the probe never
		// gives up, benchplan's startup_timeout decides.
		c.ReadinessProbe = &corev1.Probe{
			ProbeHandler:     corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: obj.Health, Port: intstr.FromString("http")}},
			PeriodSeconds:    5,
			TimeoutSeconds:   5,
			FailureThreshold: 3,
		}
	}
	obj.Pod = &corev1.Pod{
		ObjectMeta: *meta.DeepCopy(),
		Spec: corev1.PodSpec{
			Containers:                    []corev1.Container{c},
			RestartPolicy:                 corev1.RestartPolicyAlways,
			NodeSelector:                  maps.Clone(k.NodeSelector),
			Tolerations:                   tols,
			ServiceAccountName:            k.ServiceAccount,
			AutomountServiceAccountToken:  &automount,
			ImagePullSecrets:              pullSecrets,
			Volumes:                       vols,
			TerminationGracePeriodSeconds: &grace,
			EnableServiceLinks:            new(false),
		},
	}
	obj.Service = &corev1.Service{
		ObjectMeta: *meta.DeepCopy(),
		Spec: corev1.ServiceSpec{
			Type:     corev1.ServiceTypeClusterIP,
			Selector: map[string]string{RunLabel: labels[RunLabel], ServerLabel: labels[ServerLabel]},
			Ports:    []corev1.ServicePort{{Name: "http", Port: int32(port), TargetPort: intstr.FromString("http"), Protocol: corev1.ProtocolTCP}},
		},
	}
	return obj, nil
}

// argVar is a secret value of the command line and the environment
// variable that carries it into the container.
type argVar struct{ name, value string }

// argVarPrefix names the variables of argSecrets: BENCHPLAN_SECRET_ARG_1, ...
const argVarPrefix = "BENCHPLAN_SECRET_ARG_"

// argSecrets is the command line for a pod's args with its secret values
// replaced by $(VAR) references, and the variables to set. A value is
// secret by the redactor's rules for command lines (the value after
// --api-key or --hf-token, --token=X, HF_TOKEN=X, "Authorization: Bearer
// X": secret.ArgSecrets) or when it is one of known (api_key, HF_TOKEN,
// the plan's secrets). Kubernetes expands $(VAR) in args and turns $$
// into $: every other $ is doubled, so that the server gets the plan's
// arguments verbatim, as the container launcher passes them.
func argSecrets(args []string, known []string) ([]string, []argVar) {
	if args == nil {
		return nil, nil
	}
	var vals []string
	add := func(v string, short bool) {
		if v != "" && (short || len(v) >= secret.MinLen) && !slices.Contains(vals, v) {
			vals = append(vals, v)
		}
	}
	byRule := secret.ArgSecrets(args)
	for _, v := range byRule {
		add(v, true)
	}
	for _, v := range known {
		add(v, false)
	}
	// Longest first: a value holding another is replaced whole.
	slices.SortStableFunc(vals, func(a, b string) int { return len(b) - len(a) })
	var vars []argVar
	varOf := func(v string) string {
		for _, av := range vars {
			if av.value == v {
				return av.name
			}
		}
		av := argVar{name: argVarPrefix + strconv.Itoa(len(vars)+1), value: v}
		vars = append(vars, av)
		return av.name
	}
	out := make([]string, len(args))
	for i, a := range args {
		var b strings.Builder
	scan:
		for j := 0; j < len(a); {
			for _, v := range vals {
				// A short value found by rule is replaced only where it
				// stands whole (--api-key x, --api-key=x), not inside words.
				if len(v) < secret.MinLen && !(a == v || strings.HasSuffix(a, "="+v) && j == len(a)-len(v)) {
					continue
				}
				if strings.HasPrefix(a[j:], v) {
					b.WriteString("$(" + varOf(v) + ")")
					j += len(v)
					continue scan
				}
			}
			if a[j] == '$' {
				b.WriteByte('$')
			}
			b.WriteByte(a[j])
			j++
		}
		out[i] = b.String()
	}
	return out, vars
}

// optional is a SecretKeySelector's optional: set only when true.
func optional(b bool) *bool {
	if !b {
		return nil
	}
	return &b
}

// gpuCount is the nvidia.com/gpu limit: the plan's count, none, or one
// for a preset that says nothing.
func gpuCount(g *plan.GPUs, preset bool) int {
	switch {
	case g == nil && preset:
		return 1
	case g == nil:
		return 0
	}
	return g.Count
}

// pullPolicy maps pull: to the kubelet's image pull policy.
func pullPolicy(p string) corev1.PullPolicy {
	switch p {
	case servers.PullNever:
		return corev1.PullNever
	case servers.PullAlways:
		return corev1.PullAlways
	}
	return corev1.PullIfNotPresent
}

// secretKey is a Secret key for env var n, unique in data.
func secretKey(n string, data map[string][]byte) string {
	var b strings.Builder
	for _, r := range n {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	key := b.String()
	for i := 2; ; i++ {
		if _, dup := data[key]; !dup {
			return key
		}
		key = b.String() + "_" + strconv.Itoa(i)
	}
}

// Labels are the labels on a server's objects: managed by benchplan, the
// run's id, the server's name.
func Labels(runID, server string) map[string]string {
	return map[string]string{
		ManagedByLabel:           ManagedBy,
		"app.kubernetes.io/name": "benchplan-server",
		RunLabel:                 labelValue(runID),
		ServerLabel:              labelValue(server),
	}
}

// labelValue makes s a label value: letters, digits, '-', '_', '.', at
// most 63, alphanumeric at both ends.
func labelValue(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	v := b.String()
	if len(v) > 63 {
		v = v[:63]
	}
	return strings.Trim(v, "-_.")
}

// ObjectName is the pod's (and Service's, and Secret's) name:
// benchplan-<server>-<run>, a DNS label (lower case, at most 63).
func ObjectName(server, runID string) string {
	clean := func(s string) string {
		var b strings.Builder
		for _, r := range strings.ToLower(s) {
			if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
				b.WriteRune(r)
			} else {
				b.WriteByte('-')
			}
		}
		out := b.String()
		for strings.Contains(out, "--") {
			out = strings.ReplaceAll(out, "--", "-")
		}
		return strings.Trim(out, "-")
	}
	id := clean(runID)
	if len(id) > 12 {
		id = id[:12]
	}
	srv := clean(server)
	if room := 63 - len("benchplan--") - len(id); len(srv) > room {
		srv = strings.Trim(srv[:room], "-")
	}
	if srv == "" {
		srv = "server"
	}
	return "benchplan-" + srv + "-" + id
}
