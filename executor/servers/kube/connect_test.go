package kube

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
)

func writeKubeconfig(t *testing.T, dir, name, ctx, server, ns string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	assert.NilError(t, os.WriteFile(p, []byte(`apiVersion: v1
kind: Config
clusters:
- name: `+ctx+`
  cluster: { server: "`+server+`" }
users:
- name: `+ctx+`
  user: { token: t }
contexts:
- name: `+ctx+`
  context: { cluster: `+ctx+`, user: `+ctx+`, namespace: "`+ns+`" }
current-context: `+ctx+`
`), 0o600))
	return p
}

// Connect resolves the kubeconfig as kubectl does.
func TestConnectResolvesAsKubectl(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	a := writeKubeconfig(t, dir, "a", "alpha", "https://alpha.example:6443", "team-a")
	b := writeKubeconfig(t, dir, "b", "beta", "https://beta.example:6443", "")

	// $KUBECONFIG merged, the first file's current context wins.
	c, err := Connect(ConnectOptions{Env: []string{"KUBECONFIG=" + a + string(os.PathListSeparator) + b}})
	assert.NilError(t, err)
	assert.Equal(t, c.Host, "https://alpha.example:6443")
	assert.Equal(t, c.Namespace, "team-a")
	// A context picks another cluster of the merged files; no namespace: default.
	c, err = Connect(ConnectOptions{Context: "beta", Env: []string{"KUBECONFIG=" + a + string(os.PathListSeparator) + b}})
	assert.NilError(t, err)
	assert.Equal(t, c.Host, "https://beta.example:6443")
	assert.Equal(t, c.Namespace, "default")
	// An explicit file wins over $KUBECONFIG.
	c, err = Connect(ConnectOptions{Kubeconfig: b, Env: []string{"KUBECONFIG=" + a}})
	assert.NilError(t, err)
	assert.Equal(t, c.Host, "https://beta.example:6443")
	// ~/.kube/config without $KUBECONFIG.
	home := t.TempDir()
	assert.NilError(t, os.MkdirAll(filepath.Join(home, ".kube"), 0o755))
	writeKubeconfig(t, filepath.Join(home, ".kube"), "config", "home", "https://home.example:6443", "")
	c, err = Connect(ConnectOptions{Env: []string{"HOME=" + home}})
	assert.NilError(t, err)
	assert.Equal(t, c.Host, "https://home.example:6443")
	assert.Assert(t, !c.InCluster)

	_, err = Connect(ConnectOptions{Context: "gamma", Env: []string{"KUBECONFIG=" + a}})
	assert.ErrorContains(t, err, `no context "gamma"`)
	_, err = Connect(ConnectOptions{Env: []string{"HOME=" + t.TempDir()}})
	assert.ErrorContains(t, err, "no Kubernetes configuration")
	// In a pod (KUBERNETES_SERVICE_HOST) without a kubeconfig: the service
	// account, here missing.
	_, err = Connect(ConnectOptions{Env: []string{"HOME=" + t.TempDir(), "KUBERNETES_SERVICE_HOST=10.96.0.1"}})
	assert.Assert(t, err != nil && strings.Contains(err.Error(), "in-cluster configuration"), "%v", err)
}
