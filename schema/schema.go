// Package schema holds the JSON Schema of plan files, generated from the
// plan package's types and committed as plan.schema.json so that editors
// (the YAML language server) can read it from the repository.
package schema

import (
	_ "embed"
	"encoding/json"
	"fmt"

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
