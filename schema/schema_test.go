package schema

import (
	"bytes"
	"path/filepath"

	"encoding/json"
	"github.com/goccy/go-yaml"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"os"
	"strings"
	"testing"

	"gotest.tools/v3/assert"

	"github.com/benchplan/benchplan/schema/internal/gen"
	"gotest.tools/v3/golden"
)

// TestSchemaIsUpToDate fails when the committed schemas differ from what
// the plan types make; `go test ./schema -update` rewrites them.
func TestSchemaIsUpToDate(t *testing.T) {
	t.Chdir("..")
	p, s, err := gen.Generate(".")
	assert.NilError(t, err)
	if golden.FlagUpdate() {
		assert.NilError(t, os.WriteFile("schema/plan.schema.json", p, 0o644))
		assert.NilError(t, os.WriteFile("schema/servers.schema.json", s, 0o644))
	}
	cur, err := os.ReadFile("schema/plan.schema.json")
	assert.NilError(t, err)
	assert.Equal(t, string(cur), string(p), "schema/plan.schema.json is out of date: run go test ./schema -update")
	cur, err = os.ReadFile("schema/servers.schema.json")
	assert.NilError(t, err)
	assert.Equal(t, string(cur), string(s), "schema/servers.schema.json is out of date: run go test ./schema -update")
}

func TestSchemaIsDraft07AndDescribesFields(t *testing.T) {
	var s map[string]any
	assert.NilError(t, json.Unmarshal(Plan, &s))
	assert.Equal(t, s["$schema"], Draft07)
	defs := s["$defs"].(map[string]any)
	load := defs["Load"].(map[string]any)
	props := load["properties"].(map[string]any)
	typ := props["type"].(map[string]any)
	assert.Assert(t, len(typ["enum"].([]any)) == 8)
	assert.Assert(t, typ["description"] != nil, "field descriptions come from Go comments")
	assert.Equal(t, load["additionalProperties"], false)
}

// TestReadyPlansMatchTheSchema checks what an editor would: every plan and
// servers file in plans/ is valid against the committed schema.
func TestReadyPlansMatchTheSchema(t *testing.T) {
	compile := func(name string, b []byte) *jsonschema.Schema {
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		assert.NilError(t, err)
		c := jsonschema.NewCompiler()
		assert.NilError(t, c.AddResource(name, doc))
		s, err := c.Compile(name)
		assert.NilError(t, err)
		return s
	}
	planS := compile("plan.schema.json", Plan)
	serversS := compile("servers.schema.json", ServersFile)
	check := func(glob string, s *jsonschema.Schema) int {
		files, err := filepath.Glob(glob)
		assert.NilError(t, err)
		for _, f := range files {
			src, err := os.ReadFile(f)
			assert.NilError(t, err)
			j, err := yaml.YAMLToJSON(src)
			assert.NilError(t, err, f)
			v, err := jsonschema.UnmarshalJSON(bytes.NewReader(j))
			assert.NilError(t, err, f)
			assert.NilError(t, s.Validate(v), f)
		}
		return len(files)
	}
	assert.Assert(t, check("../plans/*.yaml", planS) >= 10)
	assert.Assert(t, check("../plans/servers/*.yaml", serversS) >= 5)

	// And the schema rejects what the loader rejects.
	bad, _ := yaml.YAMLToJSON([]byte("version: 1\nname: x\nscenarios:\n  - name: a\n    load: { type: constant, rat: 5 }\n"))
	v, _ := jsonschema.UnmarshalJSON(bytes.NewReader(bad))
	assert.Assert(t, planS.Validate(v) != nil, "an unknown field must fail the schema")

	// ${VAR} stands where the loader reads a number, a duration or a
	// boolean after substitution; a wrong literal still fails.
	vars := "version: 1\nname: x\nservers:\n  s: { sim: { ttft: \"${TTFT:-50ms}\", max_num_seqs: \"${SEQS}\" } }\n" +
		"scenarios:\n  - name: a\n    load: { type: constant, rate: \"${RATE:-2}\" }\n" +
		"    limits: { max_requests: \"${N:-10}\", max_duration: \"${D}\", warmup: \"${W:-1s}\" }\n"
	for _, c := range []struct {
		yaml string
		ok   bool
	}{
		{vars, true},
		{strings.Replace(vars, `"${RATE:-2}"`, `"fast"`, 1), false},
		{strings.Replace(vars, `"${D}"`, `"10 sec"`, 1), false},
	} {
		j, err := yaml.YAMLToJSON([]byte(c.yaml))
		assert.NilError(t, err)
		v, err := jsonschema.UnmarshalJSON(bytes.NewReader(j))
		assert.NilError(t, err)
		err = planS.Validate(v)
		assert.Equal(t, err == nil, c.ok, "%s: %v", c.yaml, err)
	}
}
