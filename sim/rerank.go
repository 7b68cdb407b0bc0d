package sim

import (
	"errors"
	"math"
	"net/http"
	"sort"
	"strconv"
)

// Rerank: POST /v1/rerank (and /rerank) in vLLM's format (its
// RerankResponse, the shape of Jina's and Cohere's APIs):
//
//	{"id":"rerank-…","model":…,"usage":{"total_tokens":N},
//	 "results":[{"index":2,"document":{"text":…},"relevance_score":0.93}, …]}
//
// Each (query, document) pair is one sequence of the query's and the
// document's tokens, scored as a cross-encoder would: prefilled through
// the engine like an embeddings input (engine mode), or after TTFT +
// EmbeddingPerToken × all the pairs' tokens (fixed mode). Scores are
// deterministic, in (0, 1); results are sorted by score, best first, and
// cut to top_n when it is set.

func (s *Server) rerank(w http.ResponseWriter, r *http.Request) {
	s.pooled(w, r, "reranking", func(req *request) ([]embedInput, error) {
		switch {
		case req.Query == nil:
			return nil, errors.New("query is required")
		case len(req.Documents) == 0:
			return nil, errors.New("documents must not be empty")
		case len(req.Documents) > MaxEmbeddingInputs:
			return nil, errors.New("documents has " + strconv.Itoa(len(req.Documents)) + " items; at most " + strconv.Itoa(MaxEmbeddingInputs) + " are allowed")
		case req.TopN < 0:
			return nil, errors.New("top_n must not be negative")
		}
		q := CountTokens(*req.Query)
		qh := promptHash([]string{*req.Query})
		pairs := make([]embedInput, len(req.Documents))
		for i, d := range req.Documents {
			pairs[i] = embedInput{text: d, tokens: q + CountTokens(d), hash: mix64(qh ^ promptHash([]string{d}))}
		}
		return pairs, nil
	}, s.appendRerank)
}

// appendRerank appends the rerank answer.
func (s *Server) appendRerank(b []byte, req *request, pairs []embedInput, total int) []byte {
	type scored struct {
		index int
		score float64
	}
	res := make([]scored, len(pairs))
	for i, p := range pairs {
		x := seeded(s.cfg.Seed, p.hash)
		res[i] = scored{i, 1 / (1 + math.Exp(-(float64(x>>11)/(1<<53)*12 - 6)))}
	}
	sort.SliceStable(res, func(i, j int) bool { return res[i].score > res[j].score })
	if req.TopN > 0 && req.TopN < len(res) {
		res = res[:req.TopN]
	}
	c := s.idCtr.Add(1)
	b = append(b, `{"id":"rerank-`...)
	b = appendHex64(b, mix64(s.idKey+c))
	b = appendHex64(b, mix64(s.idKey^(c*0x9e3779b97f4a7c15)))
	b = append(b, `","model":`...)
	b = append(b, s.modelJSON...)
	b = append(b, `,"usage":{"total_tokens":`...)
	b = strconv.AppendInt(b, int64(total), 10)
	b = append(b, `},"results":[`...)
	for k, r := range res {
		if k > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"index":`...)
		b = strconv.AppendInt(b, int64(r.index), 10)
		b = append(b, `,"document":{"text":`...)
		b = appendJSONString(b, pairs[r.index].text)
		b = append(b, `},"relevance_score":`...)
		b = strconv.AppendFloat(b, r.score, 'g', -1, 64)
		b = append(b, '}')
	}
	b = append(b, "]}"...)
	return b
}
