// Package kube starts the plan's `on: kubernetes` servers: a Pod (and a
// Service, and a Secret for the values that must not be written in clear)
// per server, made from the same presets (vllm, tgi) and `image:` servers
// the container launcher starts, in the cluster the kubeconfig names. It
// waits for the pod to be scheduled and its container to run, then for
// the server's health path through a port-forward (or the Service's
// address when benchplan runs in the cluster); it streams the pod's log
// to OUT/logs, records the image digest and the node's GPU model, and
// deletes everything it created when the server stops, whatever ended
// the run. Failures are said plainly: an image that cannot be pulled, a
// pod no node can take, a container killed for memory or crash-looping
// (with its last log lines), a readiness timeout.
//
// It builds on executor/servers (the log, the readiness wait, Instance)
// and is reached through servers.Options.Launchers: dependencies point one
// way. docs/servers.md is the user's guide.
package kube

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/benchplan/benchplan/executor/servers"
	"github.com/benchplan/benchplan/plan"
)

// Labels on everything benchplan creates in a cluster.
const (
	// ManagedByLabel is app.kubernetes.io/managed-by=benchplan.
	ManagedByLabel = "app.kubernetes.io/managed-by"
	ManagedBy      = "benchplan"
	// RunLabel holds the run's id: `benchplan cleanup --kubernetes --run ID`.
	RunLabel = "benchplan.dev/run"
	// ServerLabel holds the server's name (made a label value).
	ServerLabel = "benchplan.dev/server"
	// ServerAnnotation holds the server's name as the plan writes it.
	ServerAnnotation = "benchplan.dev/server-name"
	// GPUProductLabel is the node label that names its GPU model
	// (NVIDIA's GPU feature discovery).
	GPUProductLabel = "nvidia.com/gpu.product"
	// GPUResource is the extended resource of NVIDIA's device plugin.
	GPUResource = "nvidia.com/gpu"
)

// Client is the part of client-go's clientset benchplan uses: the core
// API group (pods, services, secrets, events, nodes). A
// kubernetes.Interface (or its fake) is one; Connect makes one with that
// group's client only, which keeps the other groups' clients out of the
// binary.
type Client interface {
	CoreV1() corev1client.CoreV1Interface
}

// coreOnly is a Client of the core group alone.
type coreOnly struct{ c corev1client.CoreV1Interface }

func (c coreOnly) CoreV1() corev1client.CoreV1Interface { return c.c }

// Cluster is a connection to a Kubernetes API server.
type Cluster struct {
	Client Client
	// Streams is a client without an overall request timeout, for what
	// lasts as long as the server: the followed log, the exited
	// container's log. nil: Client. Each one-off call is bounded by its
	// context (and Client's RequestTimeout).
	Streams Client
	// Config is what Streams was made from (no overall timeout); the
	// port-forward needs it (nil with a fake clientset).
	Config *rest.Config
	// Namespace is the kubeconfig context's namespace (default: default).
	Namespace string
	// InCluster says that the connection is the pod's own service account:
	// benchplan runs in the cluster, and can reach a Service's address.
	InCluster bool
	// Host is the API server's address, for messages.
	Host string
}

// ConnectOptions say which cluster to connect to, as kubectl resolves it.
type ConnectOptions struct {
	// Kubeconfig is an explicit kubeconfig file (kubectl's --kubeconfig).
	Kubeconfig string
	// Context is the kubeconfig context (default: the current one).
	Context string
	// Env is the environment KUBECONFIG, HOME and KUBERNETES_SERVICE_HOST
	// are read from (os.Environ's form); nil: the process's.
	Env []string
	// RequestTimeout bounds each one-off API call of Cluster.Client
	// (default DefaultRequestTimeout); Cluster.Streams has none.
	RequestTimeout time.Duration
}

// DefaultRequestTimeout bounds each one-off API call (a get, a create, a
// list): http.Client.Timeout of Cluster.Client. A log stream would be cut
// by it, so streams use Cluster.Streams, which has none.
const DefaultRequestTimeout = 30 * time.Second

// streams is the client for log streams.
func (c *Cluster) streams() Client {
	if c.Streams != nil {
		return c.Streams
	}
	return c.Client
}

// Connect resolves the cluster as kubectl does: an explicit kubeconfig,
// else the files in $KUBECONFIG (merged), else ~/.kube/config; the
// context given, else the current one. With no kubeconfig at all and
// KUBERNETES_SERVICE_HOST set (a pod), the pod's service account is used.
func Connect(o ConnectOptions) (*Cluster, error) {
	o.Kubeconfig = expandHome(o.Kubeconfig, o.Env)
	rules := &clientcmd.ClientConfigLoadingRules{ExplicitPath: o.Kubeconfig}
	if v := servers.Getenv(o.Env, clientcmd.RecommendedConfigPathEnvVar); v != "" {
		rules.Precedence = filepath.SplitList(v)
	} else if home := servers.Getenv(o.Env, "HOME"); home != "" {
		rules.Precedence = []string{filepath.Join(home, clientcmd.RecommendedHomeDir, clientcmd.RecommendedFileName)}
	}
	overrides := &clientcmd.ConfigOverrides{CurrentContext: o.Context}
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides)
	raw, err := cc.RawConfig()
	if err != nil {
		return nil, fmt.Errorf("reading the kubeconfig: %w", err)
	}
	inCluster := len(raw.Contexts) == 0 && o.Kubeconfig == "" && servers.Getenv(o.Env, "KUBERNETES_SERVICE_HOST") != ""
	var cfg *rest.Config
	ns := ""
	if inCluster {
		if o.Context != "" {
			return nil, fmt.Errorf("kubernetes.context %q: there is no kubeconfig here, only the pod's service account", o.Context)
		}
		if cfg, err = rest.InClusterConfig(); err != nil {
			return nil, fmt.Errorf("in-cluster configuration: %w", err)
		}
		if b, err := os.ReadFile("/var/run/secrets/kubernetes.io/serviceaccount/namespace"); err == nil {
			ns = strings.TrimSpace(string(b))
		}
	} else {
		if len(raw.Contexts) == 0 {
			return nil, errors.New("no Kubernetes configuration: set KUBECONFIG or kubernetes.kubeconfig, write ~/.kube/config, or run benchplan in a pod")
		}
		if o.Context != "" {
			if _, ok := raw.Contexts[o.Context]; !ok {
				return nil, fmt.Errorf("the kubeconfig has no context %q", o.Context)
			}
		}
		if cfg, err = cc.ClientConfig(); err != nil {
			return nil, fmt.Errorf("kubeconfig: %w", err)
		}
		if ns, _, err = cc.Namespace(); err != nil {
			return nil, fmt.Errorf("kubeconfig namespace: %w", err)
		}
	}
	if ns == "" {
		ns = "default"
	}
	// Two clients: one-off calls under an overall timeout, and streams
	// (the followed log, which lasts the run) without one: the timeout
	// is http.Client.Timeout, which also cuts a response body being read.
	streamCfg := rest.CopyConfig(cfg)
	streamCfg.UserAgent = "benchplan"
	streamCfg.Timeout = 0
	callCfg := rest.CopyConfig(streamCfg)
	callCfg.Timeout = o.RequestTimeout
	if callCfg.Timeout <= 0 {
		callCfg.Timeout = DefaultRequestTimeout
	}
	core, err := corev1client.NewForConfig(callCfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	streams, err := corev1client.NewForConfig(streamCfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	return &Cluster{Client: coreOnly{core}, Streams: coreOnly{streams}, Config: streamCfg, Namespace: ns, InCluster: inCluster, Host: cfg.Host}, nil
}

// KubeconfigPath is kubernetes.kubeconfig as a path: ~ is the home
// directory ($HOME in env), and a relative path is read from dir (the
// plan's directory; "": the working directory).
func KubeconfigPath(dir, p string, env []string) string {
	p = expandHome(p, env)
	if p != "" && !filepath.IsAbs(p) && dir != "" {
		p = filepath.Join(dir, p)
	}
	return p
}

// expandHome replaces a leading ~ with the home directory.
func expandHome(p string, env []string) string {
	if p != "~" && !strings.HasPrefix(p, "~/") {
		return p
	}
	home := servers.Getenv(env, "HOME")
	if home == "" {
		h, err := os.UserHomeDir()
		if err != nil {
			return p
		}
		home = h
	}
	return filepath.Join(home, p[1:])
}

// connectFor connects for a server's kubernetes block.
func connectFor(k *plan.Kubernetes, env []string) (*Cluster, error) {
	var o ConnectOptions
	if k != nil {
		o.Kubeconfig, o.Context = k.Kubeconfig, k.Context
	}
	o.Env = env
	return Connect(o)
}
