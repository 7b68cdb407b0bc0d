package plan

import (
	"encoding/json"
	"strconv"

	"github.com/invopop/jsonschema"
)

// The JSON Schema of the types that read themselves, for schema/plan.schema.json.

// JSONSchema describes a duration.
func (Duration) JSONSchema() *jsonschema.Schema {
	return &jsonschema.Schema{Type: "string", Pattern: durationPattern,
		Description: "A duration with a unit: 200ms, 1.5s, 20m, 1h30m.", Examples: []any{"200ms", "1.5s", "20m"}}
}

const durationPattern = `^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`

// JSONSchema describes one rate or a list of rates.
func (Rates) JSONSchema() *jsonschema.Schema {
	num := &jsonschema.Schema{Type: "number", ExclusiveMinimum: "0", Maximum: json.Number(strconv.Itoa(MaxRatePerSec))}
	return &jsonschema.Schema{
		Description: "Requests per second; a list makes one step per rate.",
		OneOf:       []*jsonschema.Schema{num, {Type: "array", Items: num, MinItems: ptr(uint64(1)), MaxItems: ptr(uint64(MaxListSteps))}},
	}
}

// JSONSchema describes one count or a list of counts.
func (Counts) JSONSchema() *jsonschema.Schema {
	n := &jsonschema.Schema{Type: "integer", Minimum: "1", Maximum: json.Number(strconv.Itoa(MaxStreams))}
	return &jsonschema.Schema{
		Description: "A count of streams; a list makes one step per count.",
		OneOf:       []*jsonschema.Schema{n, {Type: "array", Items: n, MinItems: ptr(uint64(1)), MaxItems: ptr(uint64(MaxListSteps))}},
	}
}

// JSONSchema describes a GPU selection.
func (GPUs) JSONSchema() *jsonschema.Schema {
	return &jsonschema.Schema{
		Description: "GPUs for the container: all, none, a count, or a list of ids.",
		OneOf: []*jsonschema.Schema{
			{Type: "string", Enum: []any{"all", "none"}},
			{Type: "integer", Minimum: "0", Maximum: json.Number(strconv.Itoa(MaxGPUs))},
			{Type: "array", Items: &jsonschema.Schema{OneOf: []*jsonschema.Schema{{Type: "string"}, {Type: "integer"}}}, MinItems: ptr(uint64(1))},
		},
	}
}

// JSONSchema describes a size.
func (ByteSize) JSONSchema() *jsonschema.Schema {
	return &jsonschema.Schema{
		Description: "A size: 1g, 512m, 1GiB or a number of bytes; at most 1t (1 TiB).",
		OneOf: []*jsonschema.Schema{
			{Type: "string", Pattern: `^[0-9]+(\.[0-9]+)?\s*([kKmMgGtT]?)(i?[bB])?$`},
			{Type: "integer", Minimum: "0", Maximum: json.Number(strconv.Itoa(MaxShmBytes))},
		},
	}
}

// JSONSchema describes a warmup or cooldown.
func (Portion) JSONSchema() *jsonschema.Schema {
	return &jsonschema.Schema{
		Description: "A duration (5s) or a fraction of the step in [0, 1) (0.1).",
		OneOf: []*jsonschema.Schema{
			{Type: "string", Pattern: durationPattern},
			{Type: "number", Minimum: "0", ExclusiveMaximum: "1"},
		},
	}
}

func ptr[T any](v T) *T { return &v }

// SchemaReflector returns the reflector that makes the plan's JSON Schema.
// Add Go comments to it (AddGoComments) for descriptions.
func SchemaReflector() *jsonschema.Reflector {
	return &jsonschema.Reflector{
		FieldNameTag:               "yaml",
		RequiredFromJSONSchemaTags: true,
		AllowAdditionalProperties:  false,
		ExpandedStruct:             true,
	}
}
