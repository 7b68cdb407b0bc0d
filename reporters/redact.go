package reporters

import (
	"encoding/json"

	"github.com/benchplan/benchplan/internal/secret"
	"github.com/benchplan/benchplan/results"
)

// Redacted replaces every secret in the reports.
const Redacted = secret.Redacted

// PlanConfig renders a loaded plan as the JSON echoed in results.json
// (Run.PlanConfig), with secrets redacted by the rules of
// internal/secret (Redactor.JSON): api_key, headers, secret-looking env,
// secret options in args and command, URL credentials, and every value of
// secrets anywhere.
//
// plan is any value that marshals to JSON (a *plan.Plan).
func PlanConfig(plan any, secrets []string) (json.RawMessage, error) {
	return secret.NewRedactor(secrets...).JSON(plan)
}

// RedactRun replaces every occurrence of a secret in every string of run
// (messages, errors, names, URLs, map keys), in place, so that no report
// rendered from it can show one. Run.PlanConfig is left as is: PlanConfig
// redacts it when it is made.
func RedactRun(run *results.Run, secrets []string) {
	if run == nil {
		return
	}
	secret.NewRedactor(secrets...).InPlace(run)
}
