package kube

import (
	"path/filepath"
	"testing"

	"gotest.tools/v3/assert"

	"github.com/benchplan/benchplan/executor/servers"
	"github.com/benchplan/benchplan/plan"
)

// The ready Kubernetes setups make pods that start without a Secret of
// the user's: their models are not gated, so HF_TOKEN's is optional.
func TestReadyKubernetesSetups(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("../../../plans/servers/k8s-*.yaml")
	assert.NilError(t, err)
	assert.Assert(t, len(files) >= 4)
	none := func(string) (string, bool) { return "", false }
	for _, f := range files {
		sf, err := plan.ReadServers(f, plan.Options{Env: none})
		assert.NilError(t, err, f)
		for name, s := range sf.Servers {
			obj, err := BuildObjects(name, s, "the-contexts-namespace", servers.Options{RunID: "r", Env: []string{}})
			assert.NilError(t, err, f)
			for _, e := range obj.Pod.Spec.Containers[0].Env {
				if ref := e.ValueFrom; ref != nil && ref.SecretKeyRef != nil && ref.SecretKeyRef.Name != obj.Pod.Name {
					o := ref.SecretKeyRef.Optional
					assert.Assert(t, o != nil && *o, "%s: %s from Secret %s is not optional", f, e.Name, ref.SecretKeyRef.Name)
				}
			}
		}
	}
}
