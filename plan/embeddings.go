package plan

import "fmt"

// The APIs a scenario may use (Scenario.API).
const (
	APIChat        = "chat"
	APICompletions = "completions"
	// APIEmbeddings is POST /v1/embeddings: one JSON answer, no output;
	// Data.InputsPerRequest inputs per request.
	APIEmbeddings = "embeddings"
	// APIRerank is POST /v1/rerank: a query and Data.InputsPerRequest
	// documents, one JSON answer of scores, no output.
	APIRerank = "rerank"
)

// APIs lists the APIs a scenario may use.
var APIs = []string{APIChat, APICompletions, APIEmbeddings, APIRerank}

// Pooling reports whether api answers with one JSON of vectors or scores
// and generates nothing (embeddings, rerank): no output_tokens, several
// inputs a request, no streamed tokens.
func Pooling(api string) bool { return api == APIEmbeddings || api == APIRerank }

// MaxInputsPerRequest bounds data.inputs_per_request (OpenAI's limit on an
// embeddings request's inputs).
const MaxInputsPerRequest = 2048

// InputsPerRequest is how many inputs (rerank: documents) each of the
// scenario's embeddings or rerank requests carries (1 unless
// data.inputs_per_request says otherwise).
func (s *Scenario) InputsPerRequest() int {
	if s.Data != nil && s.Data.InputsPerRequest > 1 {
		return s.Data.InputsPerRequest
	}
	return 1
}

// checkInputs checks data.inputs_per_request: embeddings and rerank only,
// within 1..MaxInputsPerRequest.
func (p *Plan) checkInputs(s *Scenario, es *Errors) {
	n := s.Data.InputsPerRequest
	if n == 0 {
		return
	}
	at := paths(s, ".data.inputs_per_request", ".data")
	switch {
	case !Pooling(s.API):
		*es = append(*es, p.ErrorAt(0, fmt.Sprintf("inputs_per_request applies to api: embeddings and rerank only (this scenario's api is %s)", s.API), at...))
	case n < 1 || n > MaxInputsPerRequest:
		*es = append(*es, p.ErrorAt(0, fmt.Sprintf("inputs_per_request must be in 1..%d, got %d", MaxInputsPerRequest, n), at...))
	}
}

// checkEmbeddingsSLO refuses slo bounds an embeddings or rerank request
// cannot meet or miss: it streams no token, so it has no ttft or tpot.
func (p *Plan) checkEmbeddingsSLO(s *Scenario, es *Errors) {
	if !Pooling(s.API) {
		return
	}
	for _, f := range []struct {
		name string
		d    *Duration
	}{{"ttft", s.SLO.TTFT}, {"tpot", s.SLO.TPOT}} {
		if f.d != nil {
			*es = append(*es, p.ErrorAt(0, fmt.Sprintf("slo.%s does not apply to api: %s (no token is streamed): bound slo.latency instead", f.name, s.API),
				paths(s, ".slo."+f.name, ".slo")...))
		}
	}
}
