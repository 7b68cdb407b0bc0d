package plan

import "fmt"

// The APIs a scenario may use (Scenario.API).
const (
	APIChat        = "chat"
	APICompletions = "completions"
	// APIEmbeddings is POST /v1/embeddings: one JSON answer, no output;
	// Data.InputsPerRequest inputs per request.
	APIEmbeddings = "embeddings"
)

// APIs lists the APIs a scenario may use.
var APIs = []string{APIChat, APICompletions, APIEmbeddings}

// MaxInputsPerRequest bounds data.inputs_per_request (OpenAI's limit on an
// embeddings request's inputs).
const MaxInputsPerRequest = 2048

// InputsPerRequest is how many inputs each of the scenario's embeddings
// requests carries (1 unless data.inputs_per_request says otherwise).
func (s *Scenario) InputsPerRequest() int {
	if s.Data != nil && s.Data.InputsPerRequest > 1 {
		return s.Data.InputsPerRequest
	}
	return 1
}

// checkInputs checks data.inputs_per_request: embeddings only, within
// 1..MaxInputsPerRequest.
func (p *Plan) checkInputs(s *Scenario, es *Errors) {
	n := s.Data.InputsPerRequest
	if n == 0 {
		return
	}
	at := paths(s, ".data.inputs_per_request", ".data")
	switch {
	case s.API != APIEmbeddings:
		*es = append(*es, p.ErrorAt(0, fmt.Sprintf("inputs_per_request applies to api: embeddings only (this scenario's api is %s)", s.API), at...))
	case n < 1 || n > MaxInputsPerRequest:
		*es = append(*es, p.ErrorAt(0, fmt.Sprintf("inputs_per_request must be in 1..%d, got %d", MaxInputsPerRequest, n), at...))
	}
}

// checkEmbeddingsSLO refuses slo bounds an embeddings request cannot meet
// or miss: it streams no token, so it has no ttft or tpot.
func (p *Plan) checkEmbeddingsSLO(s *Scenario, es *Errors) {
	if s.API != APIEmbeddings {
		return
	}
	for _, f := range []struct {
		name string
		d    *Duration
	}{{"ttft", s.SLO.TTFT}, {"tpot", s.SLO.TPOT}} {
		if f.d != nil {
			*es = append(*es, p.ErrorAt(0, fmt.Sprintf("slo.%s does not apply to api: embeddings (no token is streamed): bound slo.latency instead", f.name),
				paths(s, ".slo."+f.name, ".slo")...))
		}
	}
}
