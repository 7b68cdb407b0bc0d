package archtest

import (
	"os/exec"
	"sort"
	"strings"
	"testing"
)

const module = "github.com/benchplan/benchplan/"

// allowed maps each package (a path in the module; "x/..." for a
// package's subpackages) to the module's packages it may import. It is
// docs/architecture.md's table; a new edge is a design change, made there
// first.
var allowed = map[string][]string{
	"cmd/benchplan":         {"..."},
	"executor":              {"executor/...", "plan", "progress", "results", "internal/..."},
	"executor/client":       {"results", "internal/..."},
	"executor/dataset":      {"plan", "internal/..."},
	"executor/load":         {"results"},
	"executor/servers":      {"plan", "results", "sim", "internal/..."},
	"executor/servers/kube": {"executor/servers", "plan", "internal/..."},
	"executor/telemetry":    {"results", "internal/..."},
	"assert":                {"plan", "results", "internal/..."},
	"reporters":             {"results", "internal/..."},
	"progress":              {"results", "internal/..."},
	"results":               {"internal/..."},
	"plan":                  {"sim", "internal/..."},
	"sim":                   {},
	"schema":                {},
	"schema/internal/gen":   {"plan"},
	"ghcomment":             {},
	"ghcomment/ghfake":      {},
	"internal/...":          {},
}

// match reports whether pkg is pattern or, for "x/...", x or below it.
func match(pattern, pkg string) bool {
	if pattern == "..." {
		return true
	}
	if base, ok := strings.CutSuffix(pattern, "/..."); ok {
		return pkg == base || strings.HasPrefix(pkg, base+"/")
	}
	return pkg == pattern
}

func rules(pkg string) ([]string, bool) {
	if r, ok := allowed[pkg]; ok {
		return r, true
	}
	for p, r := range allowed {
		if strings.HasSuffix(p, "/...") && match(p, pkg) {
			return r, true
		}
	}
	return nil, false
}

func goList(t *testing.T, args ...string) []string {
	t.Helper()
	cmd := exec.Command("go", append([]string{"list"}, args...)...)
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list %v: %v", args, err)
	}
	return strings.Split(strings.TrimSpace(string(out)), "\n")
}

// Every import between the module's packages is an allowed edge, and
// every package has its row: dependencies point one way (DESIGN.md,
// docs/architecture.md).
func TestImportGraph(t *testing.T) {
	for _, line := range goList(t, "-f", "{{.ImportPath}}|{{join .Imports \" \"}}", "./...") {
		pkg, imports, _ := strings.Cut(line, "|")
		pkg = strings.TrimPrefix(pkg, module)
		ok, found := rules(pkg)
		if !found {
			t.Errorf("package %s has no row in docs/architecture.md's table (and this test's allowed map)", pkg)
			continue
		}
		for _, imp := range strings.Fields(imports) {
			dep, own := strings.CutPrefix(imp, module)
			if !own || dep == pkg {
				continue
			}
			// A package may import its own subpackages' internals only
			// through the rules; "x/internal/y" is allowed for x.
			if strings.HasPrefix(dep, pkg+"/internal/") {
				continue
			}
			allowedDep := false
			for _, r := range ok {
				if match(r, dep) {
					allowedDep = true
				}
			}
			if !allowedDep {
				t.Errorf("%s imports %s: not an allowed edge (see docs/architecture.md)", pkg, dep)
			}
		}
	}
}

// The shipped binary links only what the product uses: no benchmark
// tooling (vegeta), no schema generator (invopop/jsonschema), none of our
// test libraries. (The standard "testing" package comes with
// testcontainers-go, the container launcher's library.)
func TestBinaryDependencies(t *testing.T) {
	banned := []string{"github.com/tsenart/vegeta", "github.com/invopop/jsonschema", "gotest.tools", "go.uber.org/goleak",
		"github.com/santhosh-tekuri/jsonschema"}
	var bad []string
	for _, dep := range goList(t, "-deps", "./cmd/benchplan") {
		for _, b := range banned {
			if dep == b || strings.HasPrefix(dep, b+"/") {
				bad = append(bad, dep)
			}
		}
	}
	sort.Strings(bad)
	if len(bad) > 0 {
		t.Errorf("the binary links %s", strings.Join(bad, ", "))
	}
}
