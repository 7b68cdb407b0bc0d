// Package gen makes the JSON Schemas of plan files and servers files from
// the plan package's types and Go comments: what schema/plan.schema.json
// and schema/servers.schema.json hold (`go test ./schema -update` rewrites
// them). It is used by tests and tools only, so that the JSON Schema
// library is not linked into benchplan, which serves the committed files.
package gen

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"

	"github.com/invopop/jsonschema"

	"github.com/benchplan/benchplan/plan"
)

// Draft07 is the JSON Schema dialect the schemas declare.
const Draft07 = "http://json-schema.org/draft-07/schema#"

// BaseURL is where the schemas are published: each release attaches
// plan.schema.json and servers.schema.json (scripts/release.sh), and
// GitHub serves the newest release's under releases/latest/download/. The
// schemas' $id is that stable URL, with no version in it, so that the
// committed schema stays what `go test ./schema -update` makes and a plan
// copied anywhere keeps its modeline working. A release's own copy is at
// releases/download/vX.Y.Z/ (same file) for those who pin one.
const BaseURL = "https://github.com/benchplan/benchplan/releases/latest/download/"

// Generate makes both schemas from the plan types. root is the repository
// root, whose plan/ sources give the descriptions (Go doc comments).
func Generate(root string) (planSchema, serversSchema []byte, err error) {
	r := reflector()
	if err := r.AddGoComments("github.com/benchplan/benchplan", root+"/plan"); err != nil {
		return nil, nil, fmt.Errorf("read plan comments: %w", err)
	}
	make := func(v any, id, title string) ([]byte, error) {
		s := r.Reflect(v)
		allowVariables(s, map[*jsonschema.Schema]bool{})
		s.Version = Draft07
		s.ID = jsonschema.ID(BaseURL + id + ".schema.json")
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

// reflector makes the plan's JSON Schema from its types: YAML field names,
// no other fields allowed, and the schemas of the types that read
// themselves (durations, rates, counts, GPUs, sizes, portions,
// assertions) from mapped.
func reflector() *jsonschema.Reflector {
	return &jsonschema.Reflector{
		FieldNameTag:               "yaml",
		RequiredFromJSONSchemaTags: true,
		AllowAdditionalProperties:  false,
		ExpandedStruct:             true,
		Mapper: func(t reflect.Type) *jsonschema.Schema {
			if f := mapped[t]; f != nil {
				return f()
			}
			return nil
		},
	}
}

// mapped are the schemas of the plan's types that read themselves.
var mapped = map[reflect.Type]func() *jsonschema.Schema{
	reflect.TypeFor[plan.Duration]():  durationSchema,
	reflect.TypeFor[plan.Rates]():     ratesSchema,
	reflect.TypeFor[plan.Counts]():    countsSchema,
	reflect.TypeFor[plan.GPUs]():      gpusSchema,
	reflect.TypeFor[plan.ByteSize]():  byteSizeSchema,
	reflect.TypeFor[plan.Portion]():   portionSchema,
	reflect.TypeFor[plan.Assertion](): assertionSchema,
}

// describes a duration.
func durationSchema() *jsonschema.Schema {
	return &jsonschema.Schema{Type: "string", Pattern: durationPattern,
		Description: "A duration with a unit: 200ms, 1.5s, 20m, 1h30m.", Examples: []any{"200ms", "1.5s", "20m"}}
}

const durationPattern = `^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`

// describes one rate or a list of rates.
func ratesSchema() *jsonschema.Schema {
	num := &jsonschema.Schema{Type: "number", ExclusiveMinimum: "0", Maximum: json.Number(strconv.Itoa(plan.MaxRatePerSec))}
	return &jsonschema.Schema{
		Description: "Requests per second; a list makes one step per rate.",
		OneOf:       []*jsonschema.Schema{num, {Type: "array", Items: num, MinItems: ptr(uint64(1)), MaxItems: ptr(uint64(plan.MaxListSteps))}},
	}
}

// describes one count or a list of counts.
func countsSchema() *jsonschema.Schema {
	n := &jsonschema.Schema{Type: "integer", Minimum: "1", Maximum: json.Number(strconv.Itoa(plan.MaxStreams))}
	return &jsonschema.Schema{
		Description: "A count of streams; a list makes one step per count.",
		OneOf:       []*jsonschema.Schema{n, {Type: "array", Items: n, MinItems: ptr(uint64(1)), MaxItems: ptr(uint64(plan.MaxListSteps))}},
	}
}

// describes a GPU selection.
func gpusSchema() *jsonschema.Schema {
	return &jsonschema.Schema{
		Description: "GPUs for the container: all, none, a count, or a list of ids.",
		OneOf: []*jsonschema.Schema{
			{Type: "string", Enum: []any{"all", "none"}},
			{Type: "integer", Minimum: "0", Maximum: json.Number(strconv.Itoa(plan.MaxGPUs))},
			{Type: "array", Items: &jsonschema.Schema{OneOf: []*jsonschema.Schema{{Type: "string"}, {Type: "integer"}}}, MinItems: ptr(uint64(1))},
		},
	}
}

// describes a size.
func byteSizeSchema() *jsonschema.Schema {
	return &jsonschema.Schema{
		Description: "A size: 1g, 512m, 1GiB or a number of bytes; at most 1t (1 TiB).",
		OneOf: []*jsonschema.Schema{
			{Type: "string", Pattern: `^[0-9]+(\.[0-9]+)?\s*([kKmMgGtT]?)(i?[bB])?$`},
			{Type: "integer", Minimum: "0", Maximum: json.Number(strconv.Itoa(plan.MaxShmBytes))},
		},
	}
}

// describes a warmup or cooldown.
func portionSchema() *jsonschema.Schema {
	return &jsonschema.Schema{
		Description: "A duration (5s) or a fraction of the step in [0, 1) (0.1).",
		OneOf: []*jsonschema.Schema{
			{Type: "string", Pattern: durationPattern},
			{Type: "number", Minimum: "0", ExclusiveMaximum: "1"},
		},
	}
}

func ptr[T any](v T) *T { return &v }

// assertionSchema describes both forms of an assertion.
func assertionSchema() *jsonschema.Schema {
	props := jsonschema.NewProperties()
	props.Set("expr", &jsonschema.Schema{Type: "string", Description: "The expression, e.g. ttft.p95 < 200ms."})
	props.Set("name", &jsonschema.Schema{Type: "string", Description: "A label for reports."})
	props.Set("severity", &jsonschema.Schema{Type: "string", Enum: []any{"error", "warn"}, Description: "warn reports a failure but never fails the gate."})
	return &jsonschema.Schema{
		Description: "An assertion: an expression, or {expr, name, severity}.",
		OneOf: []*jsonschema.Schema{
			{Type: "string"},
			{Type: "object", Properties: props, Required: []string{"expr"}, AdditionalProperties: jsonschema.FalseSchema},
		},
	}
}
