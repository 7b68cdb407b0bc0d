// Package schema holds the JSON Schema of plan files, generated from the
// plan package's types and committed as plan.schema.json so that editors
// (the YAML language server) can read it from the repository.
package schema

import (
	_ "embed"
	"encoding/json"
	"fmt"

	"github.com/invopop/jsonschema"

	"github.com/benchplan/benchplan/plan"
)

// Plan is the committed plan.schema.json, embedded in the binary.
//
//go:embed plan.schema.json
var Plan []byte

// ServersFile is the committed servers.schema.json for plans/servers/*.yaml.
//
//go:embed servers.schema.json
var ServersFile []byte

// Draft07 is the JSON Schema dialect the schemas declare.
const Draft07 = "http://json-schema.org/draft-07/schema#"

// Generate makes both schemas from the plan types. root is the repository
// root, whose plan/ sources give the descriptions (Go doc comments).
func Generate(root string) (planSchema, serversSchema []byte, err error) {
	r := plan.SchemaReflector()
	if err := r.AddGoComments("github.com/benchplan/benchplan", root+"/plan"); err != nil {
		return nil, nil, fmt.Errorf("read plan comments: %w", err)
	}
	make := func(v any, id, title string) ([]byte, error) {
		s := r.Reflect(v)
		allowVariables(s, map[*jsonschema.Schema]bool{})
		s.Version = Draft07
		s.ID = ""
		s.Title = title
		b, err := json.MarshalIndent(s, "", "  ")
		if err != nil {
			return nil, err
		}
		return append(b, '\n'), nil
	}
	if planSchema, err = make(&plan.Plan{}, "plan", "benchplan plan file (version 1)"); err != nil {
		return nil, nil, err
	}
	if serversSchema, err = make(&plan.ServersFile{}, "servers", "benchplan servers file (version 1)"); err != nil {
		return nil, nil, err
	}
	return planSchema, serversSchema, nil
}

// variable is a string that is (or holds) ${NAME} or ${NAME:-default}: the
// plan loader substitutes it before it reads a number, a duration or a
// boolean, so the schema lets it stand where those are expected.
var variable = &jsonschema.Schema{Type: "string", Pattern: `\$\{[A-Za-z_][A-Za-z0-9_]*(:-[^}]*)?\}`,
	Description: "An environment variable, ${NAME} or ${NAME:-default}, substituted before the value is read."}

// allowVariables lets ${VAR} stand for every number, integer, boolean and
// duration of s, as the loader allows (rate: "${RATE:-2}"). Alternatives
// become anyOf, since a variable may now match more than one of them.
func allowVariables(s *jsonschema.Schema, seen map[*jsonschema.Schema]bool) {
	if s == nil || seen[s] || s == variable {
		return
	}
	seen[s] = true
	for _, d := range s.Definitions {
		allowVariables(d, seen)
	}
	if s.Properties != nil {
		for pair := s.Properties.Oldest(); pair != nil; pair = pair.Next() {
			allowVariables(pair.Value, seen)
		}
	}
	for _, c := range s.PatternProperties {
		allowVariables(c, seen)
	}
	for _, list := range [][]*jsonschema.Schema{s.AllOf, s.AnyOf, s.OneOf, s.PrefixItems} {
		for _, c := range list {
			allowVariables(c, seen)
		}
	}
	for _, c := range []*jsonschema.Schema{s.AdditionalProperties, s.Items, s.Not, s.If, s.Then, s.Else, s.Contains} {
		allowVariables(c, seen)
	}
	if len(s.OneOf) > 0 {
		s.AnyOf, s.OneOf = append(s.AnyOf, s.OneOf...), nil
	}
	switch {
	case s.Type == "number" || s.Type == "integer" || s.Type == "boolean",
		s.Type == "string" && s.Pattern != "" && len(s.Enum) == 0:
		inner := *s
		inner.Description, inner.Examples, inner.Title = "", nil, ""
		*s = jsonschema.Schema{Description: s.Description, Examples: s.Examples, Title: s.Title,
			AnyOf: []*jsonschema.Schema{&inner, variable}}
	}
}
