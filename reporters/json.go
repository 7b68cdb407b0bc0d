package reporters

import (
	"encoding/json"
	"io"

	"github.com/benchplan/benchplan/results"
)

// JSON writes results.json: the run marshalled as is (the results types
// carry the schema's field names and write durations as float
// milliseconds), indented by two spaces and ended by a newline. HTML
// characters are not escaped, so "required < 200ms" reads as written.
// Request records (Step.Requests) are not part of the file.
func JSON(w io.Writer, run *results.Run) error {
	if run == nil {
		return errNilRun
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(run)
}
