// Package schema holds the JSON Schemas of plan files and servers files,
// generated from the plan package's types (by schema/internal/gen, which
// the tests run) and committed so that editors (the YAML language server)
// can read them from the repository; benchplan embeds them.
package schema

import (
	_ "embed"
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
