package plan

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
)

// Kubernetes says where and how a server runs in a cluster: benchplan
// creates a Pod and a Service there for the run, labelled with the run's
// id, and deletes them when the run ends (docs/servers.md).
type Kubernetes struct {
	// Context is the kubeconfig context (default: its current context).
	Context string `yaml:"context,omitempty" json:"context,omitempty"`
	// Kubeconfig is the kubeconfig file (default: $KUBECONFIG, then
	// ~/.kube/config, then the in-cluster service account).
	Kubeconfig string `yaml:"kubeconfig,omitempty" json:"kubeconfig,omitempty"`
	// Namespace is where the Pod and Service go (default: the context's
	// namespace, else default).
	Namespace string `yaml:"namespace,omitempty" json:"namespace,omitempty"`
	// ServiceAccount is the Pod's service account (default: the namespace's default).
	ServiceAccount string `yaml:"service_account,omitempty" json:"service_account,omitempty"`
	// NodeSelector constrains the nodes the Pod may run on, e.g.
	// nvidia.com/gpu.product: NVIDIA-A100-SXM4-80GB.
	NodeSelector map[string]string `yaml:"node_selector,omitempty" json:"node_selector,omitempty"`
	// Tolerations let the Pod run on tainted (GPU) nodes.
	Tolerations []Toleration `yaml:"tolerations,omitempty" json:"tolerations,omitempty"`
	// HFCache is the Hugging Face cache: a PersistentVolumeClaim or a path
	// on the node, mounted where the preset expects it.
	HFCache *KubeVolume `yaml:"hf_cache,omitempty" json:"hf_cache,omitempty"`
	// SecretEnv sets environment variables from keys of existing Secrets,
	// e.g. HF_TOKEN: {secret: hf, key: token}; no value is ever in the manifest.
	SecretEnv map[string]SecretKeyRef `yaml:"secret_env,omitempty" json:"secret_env,omitempty"`
	// EnvFromSecrets sets an environment variable for every key of these Secrets.
	EnvFromSecrets []string `yaml:"env_from_secrets,omitempty" json:"env_from_secrets,omitempty"`
	// ImagePullSecrets name the Secrets the kubelet pulls the image with.
	ImagePullSecrets []string `yaml:"image_pull_secrets,omitempty" json:"image_pull_secrets,omitempty"`
	// Memory is the container's memory request and limit, e.g. 32g.
	Memory *ByteSize `yaml:"memory,omitempty" json:"memory,omitempty"`
	// CPU is the container's CPU request, e.g. "4" or "500m".
	CPU string `yaml:"cpu,omitempty" json:"cpu,omitempty"`
	// Access is how benchplan reaches the server: port_forward (through the
	// API server), service (the Service's cluster address: benchplan runs
	// in the cluster) or auto (default: service in a cluster, else port_forward).
	Access string `yaml:"access,omitempty" json:"access,omitempty" jsonschema:"enum=auto,enum=port_forward,enum=service"`
}

// Toleration is a Pod toleration, as Kubernetes writes it.
type Toleration struct {
	Key string `yaml:"key,omitempty" json:"key,omitempty"`
	// Operator is Equal (default) or Exists.
	Operator string `yaml:"operator,omitempty" json:"operator,omitempty" jsonschema:"enum=Equal,enum=Exists"`
	Value    string `yaml:"value,omitempty" json:"value,omitempty"`
	// Effect is NoSchedule, PreferNoSchedule, NoExecute, or empty for all.
	Effect            string `yaml:"effect,omitempty" json:"effect,omitempty" jsonschema:"enum=NoSchedule,enum=PreferNoSchedule,enum=NoExecute"`
	TolerationSeconds *int64 `yaml:"toleration_seconds,omitempty" json:"toleration_seconds,omitempty"`
}

// KubeVolume is a volume for the Hugging Face cache: one of pvc or host_path.
type KubeVolume struct {
	// PVC is the name of a PersistentVolumeClaim in the namespace.
	PVC string `yaml:"pvc,omitempty" json:"pvc,omitempty"`
	// HostPath is a directory on the node.
	HostPath string `yaml:"host_path,omitempty" json:"host_path,omitempty"`
	// ReadOnly mounts it read-only.
	ReadOnly bool `yaml:"read_only,omitempty" json:"read_only,omitempty"`
}

// SecretKeyRef names a key of a Secret in the namespace.
type SecretKeyRef struct {
	Secret string `yaml:"secret" json:"secret"`
	Key    string `yaml:"key" json:"key"`
	// Optional lets the pod start without the Secret or the key (the
	// variable is then unset): an HF_TOKEN for a model that is not gated.
	Optional bool `yaml:"optional,omitempty" json:"optional,omitempty"`
}

// Kubernetes access modes.
const (
	AccessAuto        = "auto"
	AccessPortForward = "port_forward"
	AccessService     = "service"
)

var (
	dnsLabelRe     = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	dnsSubdomainRe = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)
	labelNameRe    = regexp.MustCompile(`^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$`)
	secretKeyRe    = regexp.MustCompile(`^[-._a-zA-Z0-9]+$`)
	envNameRe      = regexp.MustCompile(`^[-._a-zA-Z][-._a-zA-Z0-9]*$`)
	cpuRe          = regexp.MustCompile(`^([0-9]+(\.[0-9]+)?|[0-9]+m)$`)
)

func dnsLabel(s string) bool     { return len(s) <= 63 && dnsLabelRe.MatchString(s) }
func dnsSubdomain(s string) bool { return len(s) <= 253 && dnsSubdomainRe.MatchString(s) }

// labelKey checks a label key: [prefix/]name, the prefix a DNS subdomain.
func labelKey(k string) bool {
	prefix, name, ok := strings.Cut(k, "/")
	if !ok {
		name, prefix = k, ""
	} else if !dnsSubdomain(prefix) {
		return false
	}
	return len(name) <= 63 && labelNameRe.MatchString(name)
}

func labelValue(v string) bool { return v == "" || len(v) <= 63 && labelNameRe.MatchString(v) }

// checkKubernetes checks a kubernetes server's own fields; at is the
// server's path.
func checkKubernetes(name string, s *Server, at string, add func(msg string, paths ...string)) {
	if s.On != "" && s.On != OnKubernetes {
		add(fmt.Sprintf("server %q has a kubernetes: block but on: %s: write on: kubernetes, or drop the block", name, s.On), at+".on")
	}
	if s.Preset == "" && s.Image == "" {
		add(fmt.Sprintf("server %q runs on Kubernetes and needs `preset:` (vllm or tgi) or `image:`", name), at+".on", at+".kubernetes", at)
	}
	if g := s.GPUs; g != nil && (g.All || len(g.IDs) > 0) {
		add(fmt.Sprintf("server %q: on Kubernetes, gpus is a count of nvidia.com/gpu (or none): the scheduler picks the devices", name), at+".gpus")
	}
	k := s.Kubernetes
	if k == nil {
		return
	}
	kat := at + ".kubernetes"
	if k.Namespace != "" && !dnsLabel(k.Namespace) {
		add(fmt.Sprintf("kubernetes.namespace %q is not a namespace name (lower-case letters, digits and '-', at most 63)", k.Namespace), kat+".namespace")
	}
	if k.ServiceAccount != "" && !dnsSubdomain(k.ServiceAccount) {
		add(fmt.Sprintf("kubernetes.service_account %q is not a service account name (lower-case letters, digits, '-' and '.')", k.ServiceAccount), kat+".service_account")
	}
	for _, key := range slices.Sorted(maps.Keys(k.NodeSelector)) {
		if !labelKey(key) {
			add(fmt.Sprintf("kubernetes.node_selector: %q is not a label key ([prefix/]name, name at most 63 characters)", key), kat+".node_selector."+Key(key), kat+".node_selector")
		} else if v := k.NodeSelector[key]; !labelValue(v) {
			add(fmt.Sprintf("kubernetes.node_selector: %q is not a label value (letters, digits, '-', '_' and '.', at most 63)", v), kat+".node_selector."+Key(key))
		}
	}
	for i, t := range k.Tolerations {
		tat := fmt.Sprintf("%s.tolerations[%d]", kat, i)
		switch t.Operator {
		case "", "Equal":
			if t.Key == "" {
				add("a toleration with operator Equal needs `key:`", tat)
			}
		case "Exists":
			if t.Value != "" {
				add("a toleration with operator Exists takes no `value:`", tat+".value")
			}
		default:
			add(fmt.Sprintf("toleration operator must be Equal or Exists, got %q", t.Operator), tat+".operator")
		}
		if t.Key != "" && !labelKey(t.Key) {
			add(fmt.Sprintf("toleration key %q is not a taint key", t.Key), tat+".key")
		}
		if !slices.Contains([]string{"", "NoSchedule", "PreferNoSchedule", "NoExecute"}, t.Effect) {
			add(fmt.Sprintf("toleration effect must be NoSchedule, PreferNoSchedule or NoExecute, got %q", t.Effect), tat+".effect")
		}
		if t.TolerationSeconds != nil && t.Effect != "NoExecute" {
			add("toleration_seconds applies to effect NoExecute only", tat+".toleration_seconds")
		}
	}
	if v := k.HFCache; v != nil {
		switch {
		case (v.PVC == "") == (v.HostPath == ""):
			add("kubernetes.hf_cache takes one of `pvc:` (a PersistentVolumeClaim's name) or `host_path:` (a directory on the node)", kat+".hf_cache")
		case v.PVC != "" && !dnsSubdomain(v.PVC):
			add(fmt.Sprintf("kubernetes.hf_cache.pvc %q is not a claim name (lower-case letters, digits, '-' and '.')", v.PVC), kat+".hf_cache.pvc")
		case v.HostPath != "" && !strings.HasPrefix(v.HostPath, "/"):
			add(fmt.Sprintf("kubernetes.hf_cache.host_path %q must be an absolute path on the node", v.HostPath), kat+".hf_cache.host_path")
		}
	}
	for _, env := range slices.Sorted(maps.Keys(k.SecretEnv)) {
		ref := k.SecretEnv[env]
		eat := kat + ".secret_env." + Key(env)
		if !envNameRe.MatchString(env) {
			add(fmt.Sprintf("kubernetes.secret_env: %q is not an environment variable name", env), eat, kat+".secret_env")
		}
		if _, dup := s.Env[env]; dup {
			add(fmt.Sprintf("%s is set both in env and in kubernetes.secret_env: keep one", env), eat, kat+".secret_env")
		}
		if !dnsSubdomain(ref.Secret) {
			add(fmt.Sprintf("kubernetes.secret_env.%s needs `secret:`, a Secret's name (lower-case letters, digits, '-' and '.'), got %q", env, ref.Secret), eat)
		}
		if !secretKeyRe.MatchString(ref.Key) {
			add(fmt.Sprintf("kubernetes.secret_env.%s needs `key:`, a key of the Secret (letters, digits, '-', '_' and '.'), got %q", env, ref.Key), eat)
		}
	}
	for i, n := range k.EnvFromSecrets {
		if !dnsSubdomain(n) {
			add(fmt.Sprintf("kubernetes.env_from_secrets: %q is not a Secret's name", n), fmt.Sprintf("%s.env_from_secrets[%d]", kat, i))
		}
	}
	for i, n := range k.ImagePullSecrets {
		if !dnsSubdomain(n) {
			add(fmt.Sprintf("kubernetes.image_pull_secrets: %q is not a Secret's name", n), fmt.Sprintf("%s.image_pull_secrets[%d]", kat, i))
		}
	}
	if k.Memory != nil && *k.Memory <= 0 {
		add("kubernetes.memory must be positive", kat+".memory")
	}
	if k.CPU != "" && !cpuRe.MatchString(k.CPU) {
		add(fmt.Sprintf("kubernetes.cpu %q is not a CPU quantity like \"4\", \"1.5\" or \"500m\"", k.CPU), kat+".cpu")
	}
	if k.Access != "" && !slices.Contains([]string{AccessAuto, AccessPortForward, AccessService}, k.Access) {
		add(fmt.Sprintf("kubernetes.access must be auto, port_forward or service, got %q", k.Access), kat+".access")
	}
}
