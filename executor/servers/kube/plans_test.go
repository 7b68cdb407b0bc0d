package kube

import (
	"path/filepath"
	"testing"

	"gotest.tools/v3/assert"

	"github.com/benchplan/benchplan/executor/servers"
	"github.com/benchplan/benchplan/plan"
)

// The ready Kubernetes setups go to the kubeconfig context's namespace
// unless BENCHPLAN_K8S_NAMESPACE says otherwise, and make pods that start
// without a Secret of the user's: their models are not gated, so
// HF_TOKEN's is optional.
func TestReadyKubernetesSetups(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("../../../plans/servers/k8s-*.yaml")
	assert.NilError(t, err)
	assert.Assert(t, len(files) >= 4)
	none := func(string) (string, bool) { return "", false }
	for _, f := range files {
		ns := func(k string) (string, bool) {
			if k == "BENCHPLAN_K8S_NAMESPACE" {
				return "llm-bench", true
			}
			return "", false
		}
		sf, err := plan.ReadServers(f, plan.Options{Env: ns})
		assert.NilError(t, err, f)
		for _, s := range sf.Servers {
			assert.Equal(t, s.Kubernetes.Namespace, "llm-bench", f)
		}
		sf, err = plan.ReadServers(f, plan.Options{Env: none})
		assert.NilError(t, err, f)
		for name, s := range sf.Servers {
			obj, err := BuildObjects(name, s, "the-contexts-namespace", servers.Options{RunID: "r", Env: []string{}})
			assert.NilError(t, err, f)
			// Without BENCHPLAN_K8S_NAMESPACE, the context's namespace.
			assert.Equal(t, s.Kubernetes.Namespace, "", f)
			assert.Equal(t, obj.Namespace, "the-contexts-namespace", f)
			for _, e := range obj.Pod.Spec.Containers[0].Env {
				if ref := e.ValueFrom; ref != nil && ref.SecretKeyRef != nil && ref.SecretKeyRef.Name != obj.Pod.Name {
					o := ref.SecretKeyRef.Optional
					assert.Assert(t, o != nil && *o, "%s: %s from Secret %s is not optional", f, e.Name, ref.SecretKeyRef.Name)
				}
			}
		}
	}
}
