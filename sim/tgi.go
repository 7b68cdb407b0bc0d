package sim

import (
	"net/http"
	"strconv"
	"unicode"
	"unicode/utf8"
)

// info answers TGI's GET /info.
func (s *Server) info(w http.ResponseWriter) {
	maxTotal := MaxModelLen
	if s.eng != nil {
		if lim := s.eng.maxTokens(); lim > 0 && lim < maxTotal {
			maxTotal = lim
		}
	}
	maxConc := s.cfg.MaxConcurrentRequests
	if maxConc == 0 {
		maxConc = 128 // TGI's default
	}
	b := make([]byte, 0, 512)
	b = append(b, `{"model_id":`...)
	b = append(b, s.modelJSON...)
	b = append(b, `,"model_sha":null,"model_dtype":"torch.float16","model_device_type":"cuda","model_pipeline_tag":"text-generation","max_concurrent_requests":`...)
	b = strconv.AppendInt(b, int64(maxConc), 10)
	b = append(b, `,"max_best_of":2,"max_stop_sequences":4,"max_input_tokens":`...)
	b = strconv.AppendInt(b, int64(maxTotal-1), 10)
	b = append(b, `,"max_total_tokens":`...)
	b = strconv.AppendInt(b, int64(maxTotal), 10)
	b = append(b, `,"validation_workers":2,"max_client_batch_size":4,"router":"text-generation-router","version":"benchplan-sim","sha":null,"docker_label":null}`...)
	w.Header()["Content-Type"] = hdrJSON
	w.Write(b)
}

// tokenizeTGI answers TGI's POST /tokenize {"inputs": ...} with one
// {"id","text","start","stop"} object per word; start and stop are byte
// offsets into inputs.
func (s *Server) tokenizeTGI(w http.ResponseWriter, st *reqState) {
	in := *st.req.Inputs
	b := st.out[:0]
	b = append(b, '[')
	first := true
	start := -1
	var h uint64
	emit := func(end int) {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, `{"id":`...)
		b = appendUint(b, 100+mix64(h)%(vocabSize-100))
		b = append(b, `,"text":`...)
		b = appendJSONString(b, in[start:end])
		b = append(b, `,"start":`...)
		b = strconv.AppendInt(b, int64(start), 10)
		b = append(b, `,"stop":`...)
		b = strconv.AppendInt(b, int64(end), 10)
		b = append(b, '}')
	}
	for i := 0; i < len(in); {
		c := in[i]
		size := 1
		var space bool
		if c < utf8.RuneSelf {
			space = asciiSpace[c]
		} else {
			var r rune
			r, size = utf8.DecodeRuneInString(in[i:])
			space = unicode.IsSpace(r)
		}
		if space {
			if start >= 0 {
				emit(i)
				start = -1
			}
		} else {
			if start < 0 {
				start, h = i, fnvOffset
			}
			for j := i; j < i+size; j++ {
				h = (h ^ uint64(in[j])) * fnvPrime
			}
		}
		i += size
	}
	if start >= 0 {
		emit(len(in))
	}
	b = append(b, ']')
	st.out = b
	w.Header()["Content-Type"] = hdrJSON
	w.Write(b)
}
