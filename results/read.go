package results

import (
	"encoding/json"
	"fmt"

	"github.com/benchplan/benchplan/internal/regular"
)

// MaxFileBytes bounds a results.json read back (1 GiB): a regular file
// only, refused before it is read when larger.
const MaxFileBytes = 1 << 30

// ReadFile reads a results.json written by an earlier run (for --baseline,
// report and compare). It refuses a file of another schema version.
func ReadFile(path string) (*Run, error) {
	b, err := regular.ReadFile(path, MaxFileBytes)
	if err != nil {
		return nil, fmt.Errorf("read results: %w", err)
	}
	var run Run
	if err := json.Unmarshal(b, &run); err != nil {
		return nil, fmt.Errorf("%s is not a benchplan results.json: %w", path, err)
	}
	if run.SchemaVersion != SchemaVersion {
		return nil, fmt.Errorf("%s has schema_version %d; this benchplan reads %d", path, run.SchemaVersion, SchemaVersion)
	}
	return &run, nil
}
