package reporters

import (
	"bytes"
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gotest.tools/v3/assert"

	"github.com/benchplan/benchplan/results"
)

// resultsSchemaPath is the committed JSON Schema of results.json.
const resultsSchemaPath = "../schema/results.schema.json"

func resultsSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	b, err := os.ReadFile(resultsSchemaPath)
	assert.NilError(t, err)
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	assert.NilError(t, err)
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	assert.NilError(t, c.AddResource("results.schema.json", doc))
	s, err := c.Compile("results.schema.json")
	assert.NilError(t, err)
	return s
}

func validate(t *testing.T, s *jsonschema.Schema, out string) error {
	t.Helper()
	v, err := jsonschema.UnmarshalJSON(strings.NewReader(out))
	assert.NilError(t, err)
	return s.Validate(v)
}

// Every results.json the reporters write is valid against the committed
// schema.
func TestResultsJSONMatchesTheSchema(t *testing.T) {
	s := resultsSchema(t)
	for _, tr := range testRuns {
		t.Run(tr.name, func(t *testing.T) {
			assert.NilError(t, validate(t, s, render(t, JSON, tr.run())))
		})
	}
}

// The schema describes every field of the results types: a run with every
// field set (fill) validates, and the schema forbids unknown fields, so a
// field added to results without its schema entry fails here.
func TestResultsSchemaCoversEveryField(t *testing.T) {
	s := resultsSchema(t)
	var run results.Run
	fill(reflect.ValueOf(&run).Elem())
	run.SchemaVersion = results.SchemaVersion
	run.PlanConfig = json.RawMessage(`{"name":"x"}`)
	out := render(t, JSON, &run)
	err := validate(t, s, out)
	assert.NilError(t, err, "a results field is missing from %s (add it there):\n%s", resultsSchemaPath, out)

	// And it is strict: an unknown field fails.
	bad := strings.Replace(out, `"schema_version": 1,`, `"schema_version": 1, "surprise": true,`, 1)
	assert.Assert(t, validate(t, s, bad) != nil, "the schema must refuse unknown fields")
}

// filling are the struct types fill is inside of.
var filling = map[reflect.Type]bool{}

// fill sets every exported field of v to a non-zero value: strings "x"
// (verdicts "fail"), numbers 1, one element per slice and map.
func fill(v reflect.Value) {
	switch v.Kind() {
	case reflect.String:
		if v.Type() == reflect.TypeOf(results.Verdict("")) {
			v.SetString(string(results.Fail))
		} else {
			v.SetString("x")
		}
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int64, reflect.Int32:
		if v.Type() == reflect.TypeOf(time.Duration(0)) || v.Type() == reflect.TypeOf(results.Duration(0)) {
			v.SetInt(int64(time.Millisecond))
		} else {
			v.SetInt(1)
		}
	case reflect.Float64:
		v.SetFloat(0.5)
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem())
	case reflect.Struct:
		if v.Type() == reflect.TypeOf(time.Time{}) {
			v.Set(reflect.ValueOf(time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)))
			return
		}
		if filling[v.Type()] {
			return // a type within itself (a group's metrics) is left zero
		}
		filling[v.Type()] = true
		defer delete(filling, v.Type())
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i))
			}
		}
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return
		}
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		fill(v.Index(0))
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		k := reflect.New(v.Type().Key()).Elem()
		e := reflect.New(v.Type().Elem()).Elem()
		fill(k)
		fill(e)
		m.SetMapIndex(k, e)
		v.Set(m)
	}
}
