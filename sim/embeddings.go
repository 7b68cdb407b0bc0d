package sim

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"strconv"
	"time"
)

// Embeddings: POST /v1/embeddings in vLLM's format (its EmbeddingResponse):
//
//	{"id":"embd-…","object":"list","created":…,"model":…,
//	 "data":[{"index":0,"object":"embedding","embedding":[…]}, …],
//	 "usage":{"prompt_tokens":N,"total_tokens":N,"completion_tokens":0,"prompt_tokens_details":null}}
//
// Each input is one sequence: its tokens are the simulator's (CountTokens,
// or the number of ids of a token-id input), and its vector is
// deterministic: a function of the seed and the input's text, of length
// EmbeddingDim, with unit L2 norm. In fixed mode the answer comes TTFT +
// EmbeddingPerToken × the request's input tokens after it arrived; in
// engine mode every input is prefilled through the engine like a chat
// prompt (same per-token cost, batching and queueing) and generates
// nothing. TGI serves no embeddings: its flavour answers 404.

// Limits and defaults of /v1/embeddings.
const (
	// DefaultEmbeddingDim is the vectors' length when Config.EmbeddingDim
	// is zero (that of small embedding models such as all-MiniLM-L6-v2).
	DefaultEmbeddingDim = 384
	// MaxEmbeddingDim bounds Config.EmbeddingDim.
	MaxEmbeddingDim = 65536
	// MaxEmbeddingInputs is the most inputs one request may carry
	// (OpenAI's limit); more is a 400.
	MaxEmbeddingInputs = 2048
)

func (c *Config) embeddingDim() int {
	if c.EmbeddingDim > 0 {
		return min(c.EmbeddingDim, MaxEmbeddingDim)
	}
	return DefaultEmbeddingDim
}

// embedInput is one input: its text (empty for token ids) and its tokens.
type embedInput struct {
	text   string
	tokens int
	hash   uint64
}

// embedInputs reads the request's input: a string, an array of strings,
// an array of token ids, or an array of arrays of token ids.
func embedInputs(raw json.RawMessage) ([]embedInput, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, errors.New("input is required: a string, an array of strings or of token ids")
	}
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return []embedInput{textInput(one)}, nil
	}
	var list []json.RawMessage
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, errors.New("input must be a string, an array of strings or of token ids")
	}
	if len(list) == 0 {
		return nil, errors.New("input must not be empty")
	}
	if len(list) > MaxEmbeddingInputs {
		return nil, errors.New("input has " + strconv.Itoa(len(list)) + " items; at most " + strconv.Itoa(MaxEmbeddingInputs) + " are allowed")
	}
	var ids []int64
	if json.Unmarshal(raw, &ids) == nil {
		return []embedInput{idsInput(ids)}, nil
	}
	out := make([]embedInput, 0, len(list))
	for _, item := range list {
		var s string
		if json.Unmarshal(item, &s) == nil {
			out = append(out, textInput(s))
			continue
		}
		if json.Unmarshal(item, &ids) == nil {
			out = append(out, idsInput(ids))
			continue
		}
		return nil, errors.New("input must be a string, an array of strings or of token ids")
	}
	return out, nil
}

func textInput(s string) embedInput {
	return embedInput{text: s, tokens: CountTokens(s), hash: promptHash([]string{s})}
}

func idsInput(ids []int64) embedInput {
	h := uint64(fnvOffset)
	for _, id := range ids {
		h = (h ^ uint64(id)) * fnvPrime
	}
	return embedInput{tokens: len(ids), hash: h}
}

func (s *Server) embeddings(w http.ResponseWriter, r *http.Request) {
	s.pooled(w, r, "embedding generation", func(req *request) ([]embedInput, error) {
		inputs, err := embedInputs(req.Input)
		if err == nil {
			switch req.EncodingFormat {
			case "", "float", "base64":
			default:
				err = errors.New(`encoding_format must be "float" or "base64", got "` + req.EncodingFormat + `"`)
			}
		}
		return inputs, err
	}, func(b []byte, req *request, inputs []embedInput, total int) []byte {
		return s.appendEmbeddings(b, inputs, total, req.EncodingFormat == "base64")
	})
}

// pooled serves a request that is prefilled and generates nothing
// (embeddings, rerank): parse reads its inputs (each a sequence of its
// own), answer writes the body once every input was processed.
func (s *Server) pooled(w http.ResponseWriter, r *http.Request, what string,
	parse func(req *request) ([]embedInput, error), answer func(b []byte, req *request, inputs []embedInput, total int) []byte) {
	if s.tgi {
		s.notFound(w)
		return
	}
	t0 := time.Now()
	m := s.m
	st, release, ok := s.admit(w, r)
	if !ok {
		return
	}
	defer release()
	inputs, err := parse(&st.req)
	if err != nil {
		m.fail(failValidation)
		s.writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	// The context: max_model_len, or less when the KV cache holds less
	// (an input the cache can never hold would wait for ever).
	lim, why := MaxModelLen, ""
	if s.eng != nil {
		if kv := s.eng.maxTokens(); kv > 0 && kv-1 < lim {
			lim, why = kv-1, " (the KV cache's capacity)"
		}
	}
	total := 0
	for _, in := range inputs {
		if in.tokens > lim {
			m.fail(failValidation)
			s.writeError(w, http.StatusBadRequest, "This model's maximum context length is "+strconv.Itoa(lim)+
				" tokens"+why+". However, you requested "+strconv.Itoa(in.tokens)+" tokens in the input for "+what+". Please reduce the length of the input.")
			return
		}
		total += in.tokens
	}
	var flt fault
	if s.faults {
		flt, _ = s.pickFault(1)
		switch flt {
		case fault500:
			m.fail(failGeneration)
			s.writeError(w, http.StatusInternalServerError, "simulated internal server error (fault injection)")
			return
		case fault429:
			m.fail(failOverloaded)
			s.writeError(w, http.StatusTooManyRequests, "simulated rate limit (fault injection)")
			return
		case faultDrop:
			m.finished[finAbort].Add(1)
			panic(http.ErrAbortHandler)
		case faultStall:
			m.finished[finAbort].Add(1)
			<-r.Context().Done()
			return
		}
	}
	done := r.Context().Done()
	if s.eng != nil {
		if !s.frontend(w, r, st, t0) {
			return
		}
		seqs := make([]*seq, len(inputs))
		for i, in := range inputs {
			sq := &seq{arrival: t0, ready: t0.Add(s.cfg.FrontendLatency), prompt: in.tokens, maxOut: 1, out: 1, fin: finStop, pooling: true, lora: st.lora, notify: make(chan struct{}, 1)}
			seqs[i] = sq
			s.eng.submit(sq)
			defer s.eng.cancel(sq)
		}
		for _, sq := range seqs {
			if !st.waitSeq(w, done, sq, 0) {
				return
			}
		}
	} else {
		d := s.cfg.TTFT + time.Duration(total)*s.cfg.EmbeddingPerToken
		if !st.wait(w, done, t0.Add(d)) {
			m.finished[finAbort].Add(uint64(len(inputs)))
			return
		}
		m.promptToks.Add(uint64(total))
		for _, in := range inputs {
			m.request(finStop, in.tokens, 0, 0, d, d)
		}
	}
	b := answer(st.out[:0], &st.req, inputs, total)
	if flt == faultMalformed {
		b = b[:len(b)/2]
	}
	st.out = b
	w.Header()["Content-Type"] = hdrJSON
	w.Write(b)
}

// appendEmbeddings appends the response body.
func (s *Server) appendEmbeddings(b []byte, inputs []embedInput, total int, b64 bool) []byte {
	c := s.idCtr.Add(1)
	b = append(b, `{"id":"embd-`...)
	b = appendHex64(b, mix64(s.idKey+c))
	b = appendHex64(b, mix64(s.idKey^(c*0x9e3779b97f4a7c15)))
	b = append(b, `","object":"list","created":`...)
	b = strconv.AppendInt(b, time.Now().Unix(), 10)
	b = append(b, `,"model":`...)
	b = append(b, s.modelJSON...)
	b = append(b, `,"data":[`...)
	dim := s.cfg.embeddingDim()
	vec := make([]float32, dim)
	var raw []byte
	for i, in := range inputs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"index":`...)
		b = strconv.AppendInt(b, int64(i), 10)
		b = append(b, `,"object":"embedding","embedding":`...)
		embedVector(vec, seeded(s.cfg.Seed, in.hash))
		if b64 {
			raw = raw[:0]
			for _, v := range vec {
				raw = binary.LittleEndian.AppendUint32(raw, math.Float32bits(v))
			}
			b = append(b, '"')
			b = base64.StdEncoding.AppendEncode(b, raw)
			b = append(b, '"')
		} else {
			b = append(b, '[')
			for k, v := range vec {
				if k > 0 {
					b = append(b, ',')
				}
				b = strconv.AppendFloat(b, float64(v), 'g', -1, 32)
			}
			b = append(b, ']')
		}
		b = append(b, '}')
	}
	b = append(b, `],"usage":{"prompt_tokens":`...)
	b = strconv.AppendInt(b, int64(total), 10)
	b = append(b, `,"total_tokens":`...)
	b = strconv.AppendInt(b, int64(total), 10)
	b = append(b, `,"completion_tokens":0,"prompt_tokens_details":null}}`...)
	return b
}

// embedVector fills v with a deterministic unit vector drawn from h.
func embedVector(v []float32, h uint64) {
	var sq float64
	x := h
	for k := range v {
		x = mix64(x + 0x9e3779b97f4a7c15)
		f := float64(int64(x>>11)-(1<<52)) / (1 << 52) // in [-1, 1)
		v[k] = float32(f)
		sq += f * f
	}
	if sq == 0 {
		v[0], sq = 1, 1
	}
	n := float32(1 / math.Sqrt(sq))
	for k := range v {
		v[k] *= n
	}
}
