package sim

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// Defaults and limits of the simulator, part of its documented behaviour.
const (
	// DefaultModel is the served model name used when Config.Model is empty.
	DefaultModel = "sim-model"
	// MaxModelLen is the context length reported by /tokenize and
	// /v1/models. It is reported only, not enforced.
	MaxModelLen = 8192
	// DefaultCompletionMaxTokens is the output maximum of a /v1/completions
	// request without max_tokens (the OpenAI and vLLM default).
	DefaultCompletionMaxTokens = 16
	// DefaultChatMaxTokens is the output maximum of a /v1/chat/completions
	// request without max_completion_tokens or max_tokens.
	DefaultChatMaxTokens = 256
	// MinNaturalTokens is the smallest natural output length (see NaturalLength).
	MinNaturalTokens = 16
	// MaxNaturalTokens is the largest natural output length (see NaturalLength).
	MaxNaturalTokens = 256
	// OwnedBy is the owned_by field of the served model in /v1/models.
	OwnedBy = "benchplan-sim"
)

// maxBodyBytes bounds request bodies.
const maxBodyBytes = 64 << 20

// Server is the simulator. It implements http.Handler and is safe for
// concurrent use; create it with New.
type Server struct {
	cfg       Config
	model     string
	modelJSON []byte         // model as a JSON string literal
	loras     map[string]int // LoRA adapter names: index in cfg.LoraAdapters + 1
	tgi       bool
	idKey     uint64
	idCtr     atomic.Uint64
	pool      sync.Pool // *reqState

	eng *engine  // nil in fixed-latency mode
	m   *metrics // always set

	faults   bool
	faultKey uint64
	faultCtr atomic.Uint64

	readyAt time.Time   // end of the startup delay
	ready   atomic.Bool // set once readyAt has passed
}

// New returns a simulator configured by cfg. Invalid settings are clamped
// (negative durations and counts count as zero, rates are clamped to
// [0, 1], an unknown flavour is vllm); use Config.Validate to report them.
// The startup delay, if any, starts now.
func New(cfg Config) *Server {
	cfg.sanitize()
	s := &Server{
		cfg:       cfg,
		model:     cfg.Model,
		modelJSON: appendJSONString(nil, cfg.Model),
		tgi:       cfg.Flavor == FlavorTGI,
		idKey:     mix64(uint64(time.Now().UnixNano()) ^ uint64(cfg.Seed)),
		faults:    cfg.faultsEnabled(),
		faultKey:  mix64(uint64(cfg.Seed) ^ 0x5851f42d4c957f2d),
	}
	if len(cfg.LoraAdapters) > 0 {
		s.loras = make(map[string]int, len(cfg.LoraAdapters))
		for i, name := range cfg.LoraAdapters {
			s.loras[name] = i + 1
		}
	}
	s.pool.New = func() any { return &reqState{out: make([]byte, 0, 4096), body: make([]byte, 0, 1024)} }
	if s.cfg.EngineEnabled() {
		s.m = newMetrics(&s.cfg, true, s.cfg.KVCacheBudget()/s.cfg.blockSize())
		s.eng = newEngine(&s.cfg, s.m)
	} else {
		s.m = newMetrics(&s.cfg, false, 0)
	}
	if cfg.StartupDelay > 0 {
		s.readyAt = time.Now().Add(cfg.StartupDelay)
	} else {
		s.ready.Store(true)
	}
	return s
}

// Config returns the configuration the server runs with (after clamping).
func (s *Server) Config() Config { return s.cfg }

// Ready reports whether the startup delay is over.
func (s *Server) Ready() bool {
	if s.ready.Load() {
		return true
	}
	if time.Now().Before(s.readyAt) {
		return false
	}
	s.ready.Store(true)
	return true
}

// Model returns the served model name.
func (s *Server) Model() string { return s.model }

// Serve serves on ln until ctx is cancelled, then shuts down gracefully and
// returns nil: in-flight requests see their contexts cancelled (streams stop
// where they are) and the shutdown waits for them at most about 2 seconds
// before closing the remaining connections. Errors from http.Server.Serve
// other than http.ErrServerClosed are returned. Serve closes ln.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	baseCtx, cancelBase := context.WithCancel(ctx)
	defer cancelBase()
	srv := &http.Server{
		Handler:           s,
		BaseContext:       func(net.Listener) context.Context { return baseCtx },
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       5 * time.Minute,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return err
	case <-ctx.Done():
	}
	cancelBase()
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

type kind int

const (
	kindChat kind = iota
	kindCompletion
	kindTokenize
)

// Shared header values; net/http never modifies them.
var (
	hdrJSON    = []string{"application/json"}
	hdrSSE     = []string{"text/event-stream"}
	hdrChunked = []string{"chunked"}
)

// ServeHTTP routes a request to the simulator's endpoints.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	if path == "/metrics" {
		if s.allow(w, r, http.MethodGet) {
			s.serveMetrics(w)
		}
		return
	}
	if !s.ready.Load() && !s.Ready() {
		switch path {
		case "/health", "/v1/models", "/v1/chat/completions", "/v1/completions", "/v1/embeddings", "/v1/rerank", "/rerank", "/tokenize", "/info":
			if path == "/health" && s.tgi {
				writeRaw(w, http.StatusServiceUnavailable, `{"error":"unhealthy","error_type":"healthcheck"}`)
				return
			}
			if path == "/v1/chat/completions" || path == "/v1/completions" || path == "/v1/embeddings" || path == "/v1/rerank" || path == "/rerank" {
				s.m.requests.Add(1)
				s.m.fail(failUnhealthy)
			}
			s.writeError(w, http.StatusServiceUnavailable, "the model is still loading")
			return
		}
	}
	switch path {
	case "/v1/chat/completions":
		if s.allow(w, r, http.MethodPost) {
			s.generate(w, r, kindChat)
		}
	case "/v1/completions":
		if s.allow(w, r, http.MethodPost) {
			s.generate(w, r, kindCompletion)
		}
	case "/v1/embeddings":
		if s.allow(w, r, http.MethodPost) {
			s.embeddings(w, r)
		}
	case "/v1/rerank", "/rerank":
		if s.allow(w, r, http.MethodPost) {
			s.rerank(w, r)
		}
	case "/tokenize":
		if s.allow(w, r, http.MethodPost) {
			s.tokenize(w, r)
		}
	case "/health":
		if s.allow(w, r, http.MethodGet) {
			w.Header()["Content-Length"] = []string{"0"}
			w.WriteHeader(http.StatusOK)
		}
	case "/v1/models":
		if s.allow(w, r, http.MethodGet) {
			s.models(w)
		}
	case "/info":
		if !s.tgi {
			s.notFound(w)
		} else if s.allow(w, r, http.MethodGet) {
			s.info(w)
		}
	default:
		s.notFound(w)
	}
}

func (s *Server) notFound(w http.ResponseWriter) {
	if s.tgi {
		// TGI's router (axum) answers unknown routes with an empty 404.
		w.Header()["Content-Length"] = []string{"0"}
		w.WriteHeader(http.StatusNotFound)
		return
	}
	writeRaw(w, http.StatusNotFound, `{"detail":"Not Found"}`)
}

// allow answers 405 unless r uses method (GET also admits HEAD).
func (s *Server) allow(w http.ResponseWriter, r *http.Request, method string) bool {
	if r.Method == method || (method == http.MethodGet && r.Method == http.MethodHead) {
		return true
	}
	w.Header().Set("Allow", method)
	if s.tgi {
		w.Header()["Content-Length"] = []string{"0"}
		w.WriteHeader(http.StatusMethodNotAllowed)
		return false
	}
	writeRaw(w, http.StatusMethodNotAllowed, `{"detail":"Method Not Allowed"}`)
	return false
}

func writeRaw(w http.ResponseWriter, status int, body string) {
	w.Header()["Content-Type"] = hdrJSON
	w.WriteHeader(status)
	io.WriteString(w, body)
}

// writeError writes an error body in the flavour's shape: vLLM's (OpenAI's)
// {"error":{"message":...,"type":...,"param":null,"code":N}} or TGI's
// {"error":...,"error_type":...}. TGI answers validation errors (400 here)
// with 422.
func (s *Server) writeError(w http.ResponseWriter, status int, msg string) {
	b := make([]byte, 0, 96+len(msg))
	if s.tgi {
		typ := "validation"
		switch status {
		case http.StatusBadRequest:
			status = http.StatusUnprocessableEntity
		case http.StatusTooManyRequests:
			typ = "overloaded"
		case http.StatusServiceUnavailable:
			typ = "unhealthy"
		case http.StatusInternalServerError:
			typ = "generation"
		}
		b = append(b, `{"error":`...)
		b = appendJSONString(b, msg)
		b = append(b, `,"error_type":"`...)
		b = append(b, typ...)
		b = append(b, `"}`...)
	} else {
		typ := "BadRequestError"
		switch status {
		case http.StatusNotFound:
			typ = "NotFoundError"
		case http.StatusRequestEntityTooLarge:
			typ = "RequestEntityTooLargeError"
		case http.StatusTooManyRequests:
			typ = "RateLimitError"
		case http.StatusInternalServerError:
			typ = "InternalServerError"
		case http.StatusServiceUnavailable:
			typ = "ServiceUnavailableError"
		}
		b = append(b, `{"error":{"message":`...)
		b = appendJSONString(b, msg)
		b = append(b, `,"type":"`...)
		b = append(b, typ...)
		b = append(b, `","param":null,"code":`...)
		b = strconv.AppendInt(b, int64(status), 10)
		b = append(b, "}}"...)
	}
	if status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable {
		w.Header()["Retry-After"] = []string{"1"}
	}
	w.Header()["Content-Type"] = hdrJSON
	w.WriteHeader(status)
	w.Write(b)
}

func (s *Server) models(w http.ResponseWriter) {
	b := make([]byte, 0, 256)
	b = append(b, `{"object":"list","data":[{"id":`...)
	b = append(b, s.modelJSON...)
	created := time.Now().Unix()
	b = append(b, `,"object":"model","created":`...)
	b = strconv.AppendInt(b, created, 10)
	b = append(b, `,"owned_by":"`+OwnedBy+`","root":`...)
	b = append(b, s.modelJSON...)
	b = append(b, `,"parent":null,"max_model_len":`...)
	b = strconv.AppendInt(b, MaxModelLen, 10)
	b = append(b, '}')
	b = s.appendLoraCards(b, created)
	b = append(b, `]}`...)
	w.Header()["Content-Type"] = hdrJSON
	w.Write(b)
}

// reqState is the pooled per-request scratch space.
type reqState struct {
	out   []byte
	body  []byte
	parts []string
	req   request
	lora  int // the model the request named: 0 the served model, else an adapter's index + 1
	timer *time.Timer
}

func (s *Server) getState() *reqState { return s.pool.Get().(*reqState) }

func (s *Server) putState(st *reqState) {
	if cap(st.out) > 64<<10 || cap(st.body) > 64<<10 {
		return
	}
	clear(st.parts)
	st.parts = st.parts[:0]
	st.req = request{}
	st.lora = 0
	st.out = st.out[:0]
	st.body = st.body[:0]
	s.pool.Put(st)
}

// readRequest reads and decodes the body of r into st.req and checks the
// model; it writes the error response and returns false on failure.
func (s *Server) readRequest(w http.ResponseWriter, r *http.Request, st *reqState) bool {
	body := st.body[:0]
	if r.ContentLength > 0 && r.ContentLength <= maxBodyBytes && int(r.ContentLength) > cap(body) {
		body = make([]byte, 0, r.ContentLength+1)
	}
	for {
		if len(body) == cap(body) {
			body = append(body, 0)[:len(body)]
		}
		n, err := r.Body.Read(body[len(body):cap(body)])
		body = body[:len(body)+n]
		if len(body) > maxBodyBytes {
			st.body = body[:0]
			s.writeError(w, http.StatusRequestEntityTooLarge, "request body too large")
			return false
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			st.body = body[:0]
			s.writeError(w, http.StatusBadRequest, "reading request body: "+err.Error())
			return false
		}
	}
	st.body = body
	if err := json.Unmarshal(body, &st.req); err != nil {
		if ie := (*imageError)(nil); errors.As(err, &ie) {
			s.writeError(w, http.StatusBadRequest, ie.msg)
			return false
		}
		s.writeError(w, http.StatusBadRequest, "invalid JSON body: "+err.Error())
		return false
	}
	if !s.tgi {
		lora, ok := s.loraIndex(st.req.Model)
		if !ok {
			s.writeError(w, http.StatusNotFound, "The model `"+st.req.Model+"` does not exist.")
			return false
		}
		st.lora = lora
	}
	return true
}

func (s *Server) tokenize(w http.ResponseWriter, r *http.Request) {
	st := s.getState()
	defer s.putState(st)
	if !s.readRequest(w, r, st) {
		return
	}
	if s.tgi && st.req.Inputs != nil {
		s.tokenizeTGI(w, st)
		return
	}
	parts, n, err := st.req.promptParts(kindTokenize, st.parts[:0])
	st.parts = parts
	if err != nil {
		s.writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	b := st.out[:0]
	b = append(b, `{"count":`...)
	b = strconv.AppendInt(b, int64(n), 10)
	b = append(b, `,"max_model_len":`...)
	b = strconv.AppendInt(b, MaxModelLen, 10)
	b = append(b, `,"tokens":[`...)
	first := true
	for _, p := range parts {
		b, first = appendTokenIDs(b, p, first)
	}
	for range st.req.imageTokens() {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = strconv.AppendInt(b, imageTokenID, 10)
	}
	b = append(b, `],"token_strs":null}`...)
	st.out = b
	w.Header()["Content-Type"] = hdrJSON
	w.Write(b)
}

// gen describes one generation.
type gen struct {
	chat         bool
	includeUsage bool
	promptTokens int
	outTokens    int
	reasoning    int    // of outTokens, the first ones, streamed as reasoning (chat only)
	finish       string // "length" or "stop"
	wordStart    int
	t0           time.Time
	prefix       []byte // `data: {"id":...,"choices":[` for streams, `{"id":...,"choices":[` otherwise
	seq          *seq   // engine mode: the engine's sequence
	fault        fault
	faultAt      int // content token index the fault happens before
}

// admit counts a request, refuses it past MaxConcurrentRequests (429) and
// reads its body into a pooled state; ok is false when it was answered
// already. Otherwise the caller defers done, which frees what admit took.
func (s *Server) admit(w http.ResponseWriter, r *http.Request) (st *reqState, done func(), ok bool) {
	m := s.m
	m.requests.Add(1)
	if n := m.inflight.Add(1); s.cfg.MaxConcurrentRequests > 0 && n > int64(s.cfg.MaxConcurrentRequests) {
		m.inflight.Add(-1)
		m.fail(failOverloaded)
		s.writeError(w, http.StatusTooManyRequests, "Model is overloaded")
		return nil, nil, false
	}
	st = s.getState()
	done = func() {
		s.putState(st)
		m.inflight.Add(-1)
	}
	if !s.readRequest(w, r, st) {
		m.fail(failValidation)
		done()
		return nil, nil, false
	}
	return st, done, true
}

func (s *Server) generate(w http.ResponseWriter, r *http.Request, k kind) {
	t0 := time.Now()
	m := s.m
	st, release, ok := s.admit(w, r)
	if !ok {
		return
	}
	defer release()
	req := &st.req
	chat := k == kindChat
	maxTok, err := req.maxTokens(chat)
	if err != nil {
		m.fail(failValidation)
		s.writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	minTok, _, err := optInt("min_tokens", req.MinTokens)
	if err != nil {
		m.fail(failValidation)
		s.writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if minTok < 0 || minTok > int64(maxTok) {
		m.fail(failValidation)
		s.writeError(w, http.StatusBadRequest, "min_tokens must be between 0 and max_tokens ("+strconv.Itoa(maxTok)+"), got "+strconv.FormatInt(minTok, 10))
		return
	}
	parts, promptTokens, err := req.promptParts(k, st.parts[:0])
	st.parts = parts
	if err != nil {
		m.fail(failValidation)
		s.writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	// The context: max_model_len, or less when the KV cache holds less.
	lim, why := MaxModelLen, ""
	if s.eng != nil {
		if kv := s.eng.maxTokens(); kv > 0 && kv < lim {
			lim, why = kv, " (the KV cache's capacity)"
		}
	}
	explicit := req.MaxTokens != "" || (chat && req.MaxCompletionTokens != "")
	if !explicit && promptTokens < lim && promptTokens+maxTok > lim {
		maxTok = lim - promptTokens // vLLM's default fills the context
	}
	if promptTokens+maxTok > lim {
		m.fail(failValidation)
		msg := "This model's maximum context length is " + strconv.Itoa(lim) + " tokens" + why + ". However, you requested " +
			strconv.Itoa(promptTokens+maxTok) + " tokens (" + strconv.Itoa(promptTokens) + " in the messages, " +
			strconv.Itoa(maxTok) + " in the completion). Please reduce the length of the messages or completion."
		if s.tgi {
			msg = "Input validation error: `inputs` tokens + `max_new_tokens` must be <= " + strconv.Itoa(lim) +
				". Given: " + strconv.Itoa(promptTokens) + " `inputs` tokens and " + strconv.Itoa(maxTok) + " `max_new_tokens`"
		}
		s.writeError(w, http.StatusBadRequest, msg)
		return
	}

	h := seeded(s.cfg.Seed, promptHash(parts))
	n := maxTok
	finish := "length"
	if !req.IgnoreEOS {
		natural := max(naturalFromHash(h), int(minTok))
		if natural < n {
			n, finish = natural, "stop"
		}
	}
	g := gen{
		chat:         chat,
		includeUsage: req.Stream && req.StreamOptions != nil && req.StreamOptions.IncludeUsage,
		promptTokens: promptTokens,
		outTokens:    n,
		finish:       finish,
		wordStart:    int((h >> 40) % uint64(len(words))),
		t0:           t0,
	}
	if chat && n >= 2 {
		g.reasoning = min(s.cfg.ReasoningTokens, n-1)
	}
	if s.faults {
		g.fault, g.faultAt = s.pickFault(n)
		switch g.fault {
		case fault500:
			m.fail(failGeneration)
			s.writeError(w, http.StatusInternalServerError, "simulated internal server error (fault injection)")
			return
		case fault429:
			m.fail(failOverloaded)
			s.writeError(w, http.StatusTooManyRequests, "simulated rate limit (fault injection)")
			return
		}
		if !req.Stream && (g.fault == faultStall || g.fault == faultDrop) {
			m.finished[finAbort].Add(1)
			if g.fault == faultDrop {
				panic(http.ErrAbortHandler)
			}
			<-r.Context().Done()
			return
		}
	}
	if s.eng != nil {
		if !s.frontend(w, r, st, t0) {
			return
		}
		sq := &seq{arrival: t0, ready: t0.Add(s.cfg.FrontendLatency), prompt: promptTokens, maxOut: maxTok, out: n, lora: st.lora, notify: make(chan struct{}, 1)}
		if finish == "stop" {
			sq.fin = finStop
		} else {
			sq.fin = finLength
		}
		if s.eng.pc != nil {
			// The blocks of the whole sequence, prompt and generated
			// tokens: the prompt's are looked up at admission, and every
			// full block is cached, as vLLM does, so that a later turn of
			// a conversation, which sends this answer back, finds it.
			bh := newBlockHasher(make([]uint64, 0, (promptTokens+n)/s.eng.block), s.eng.block).forAdapter(st.lora)
			for _, p := range parts {
				bh.part(p)
			}
			sq.hashes = bh.dst
			bh.generated(g.wordStart, n)
			sq.seqHashes = bh.dst
		}
		s.eng.submit(sq)
		defer s.eng.cancel(sq)
		g.seq = sq
	} else {
		m.promptToks.Add(uint64(promptTokens))
		if st.lora > 0 {
			m.loraInflight[st.lora-1].Add(1)
			defer m.loraInflight[st.lora-1].Add(-1)
		}
	}
	var pre [160]byte
	g.prefix = s.appendPrefix(pre[:0], &g, req.Stream)
	if req.Stream {
		s.stream(w, r, st, &g)
	} else {
		s.complete(w, r, st, &g)
	}
}

// fixedDone records the metrics of a fixed-latency request that sent sent
// content tokens (all of them unless the client went away).
func (s *Server) fixedDone(g *gen, sent int) {
	if s.eng != nil {
		return
	}
	m := s.m
	m.genToks.Add(uint64(sent))
	if sent < g.outTokens {
		m.finished[finAbort].Add(1)
		return
	}
	ttft, itl := s.cfg.TTFT, s.cfg.ITL
	m.ttft.observeDur(ttft)
	m.itl.observeN(int64(itl), uint64(g.outTokens-1))
	fin := finLength
	if g.finish == "stop" {
		fin = finStop
	}
	m.request(fin, g.promptTokens, g.outTokens, 0, ttft, ttft+time.Duration(g.outTokens-1)*itl)
}

// appendPrefix appends the JSON common to every chunk or response up to and
// including `"choices":[`.
func (s *Server) appendPrefix(b []byte, g *gen, stream bool) []byte {
	if stream {
		b = append(b, "data: "...)
	}
	if g.chat {
		b = append(b, `{"id":"chatcmpl-`...)
	} else {
		b = append(b, `{"id":"cmpl-`...)
	}
	c := s.idCtr.Add(1)
	b = appendHex64(b, mix64(s.idKey+c))
	b = appendHex64(b, mix64(s.idKey^(c*0x9e3779b97f4a7c15)))
	switch {
	case g.chat && stream:
		b = append(b, `","object":"chat.completion.chunk","created":`...)
	case g.chat:
		b = append(b, `","object":"chat.completion","created":`...)
	default:
		b = append(b, `","object":"text_completion","created":`...)
	}
	b = strconv.AppendInt(b, g.t0.Unix(), 10)
	b = append(b, `,"model":`...)
	b = append(b, s.modelJSON...)
	b = append(b, `,"choices":[`...)
	return b
}

func (g *gen) appendUsage(b []byte) []byte {
	b = append(b, `"usage":{"prompt_tokens":`...)
	b = strconv.AppendInt(b, int64(g.promptTokens), 10)
	b = append(b, `,"completion_tokens":`...)
	b = strconv.AppendInt(b, int64(g.outTokens), 10)
	b = append(b, `,"total_tokens":`...)
	b = strconv.AppendInt(b, int64(g.promptTokens+g.outTokens), 10)
	if g.reasoning > 0 {
		b = append(b, `,"completion_tokens_details":{"reasoning_tokens":`...)
		b = strconv.AppendInt(b, int64(g.reasoning), 10)
		b = append(b, '}')
	}
	return append(b, '}')
}

// appendReasoningDelta opens a chunk's choice whose delta carries a
// reasoning token (a quoted word) in the configured field(s), as vLLM's
// reasoning parsers stream it: content is absent until the answer starts.
func (s *Server) appendReasoningDelta(b, word []byte) []byte {
	b = append(b, `{"index":0,"delta":{`...)
	switch s.cfg.ReasoningField {
	case ReasoningOpenAI:
		b = append(b, `"reasoning":`...)
		b = append(b, word...)
	case ReasoningBoth:
		b = append(b, `"reasoning_content":`...)
		b = append(b, word...)
		b = append(b, `,"reasoning":`...)
		b = append(b, word...)
	default:
		b = append(b, `"reasoning_content":`...)
		b = append(b, word...)
	}
	return b
}

// chunkEnd closes a stream chunk after its choices.
func (g *gen) chunkEnd(b []byte) []byte {
	if g.includeUsage {
		return append(b, `],"usage":null}`+"\n\n"...)
	}
	return append(b, "]}\n\n"...)
}

// flush writes and flushes pending output; it returns false when the
// client went away.
func (st *reqState) flush(w http.ResponseWriter) bool {
	if len(st.out) > 0 {
		if _, err := w.Write(st.out); err != nil {
			return false
		}
		st.out = st.out[:0]
	}
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	return true
}

// frontend spends the API server's own time on a request that arrived at
// t0 (Config.FrontendLatency) before the engine sees it. It returns false,
// counting the request aborted, when the client went away meanwhile.
func (s *Server) frontend(w http.ResponseWriter, r *http.Request, st *reqState, t0 time.Time) bool {
	if s.cfg.FrontendLatency <= 0 {
		return true
	}
	if st.wait(w, r.Context().Done(), t0.Add(s.cfg.FrontendLatency)) {
		return true
	}
	s.m.finished[finAbort].Add(1)
	return false
}

// wait blocks until deadline, flushing pending output first when it has to
// block. It returns false when the client went away.
func (st *reqState) wait(w http.ResponseWriter, done <-chan struct{}, deadline time.Time) bool {
	d := time.Until(deadline)
	if d <= 0 {
		select {
		case <-done:
			return false
		default:
			return true
		}
	}
	if len(st.out) > 0 && !st.flush(w) {
		return false
	}
	if st.timer == nil {
		st.timer = time.NewTimer(d)
	} else {
		st.timer.Reset(d)
	}
	select {
	case <-st.timer.C:
		return true
	case <-done:
		st.timer.Stop()
		return false
	}
}

// waitSeq blocks until the engine has generated more than k tokens of sq,
// flushing pending output first. It returns false when the client went
// away.
func (st *reqState) waitSeq(w http.ResponseWriter, done <-chan struct{}, sq *seq, k int) bool {
	if len(st.out) > 0 && !st.flush(w) {
		return false
	}
	for int(sq.generated.Load()) <= k {
		select {
		case <-sq.notify:
		case <-done:
			return false
		}
	}
	return true
}

func (s *Server) stream(w http.ResponseWriter, r *http.Request, st *reqState, g *gen) {
	hdr := w.Header()
	hdr["Content-Type"] = hdrSSE
	// An explicit chunked encoding keeps net/http from turning a stream
	// that fits its buffer into a Content-Length response.
	hdr["Transfer-Encoding"] = hdrChunked
	w.WriteHeader(http.StatusOK)

	done := r.Context().Done()
	latency := s.cfg.TTFT > 0 || s.cfg.ITL > 0
	b := st.out[:0]
	if g.chat {
		b = append(b, g.prefix...)
		b = append(b, `{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}`...)
		b = g.chunkEnd(b)
	}
	st.out = b
	if !latency && g.seq == nil {
		select {
		case <-done:
			s.fixedDone(g, 0)
			return
		default:
		}
	}
	wi := g.wordStart
	// The first token comes TTFT after the request; token k comes k ITLs
	// after the first was sent (not after it was due), so that a first
	// token the machine sent late does not make the next ones early.
	next := g.t0.Add(s.cfg.TTFT)
	var first time.Time
	for k := 0; k < g.outTokens; k++ {
		if g.seq != nil {
			if int(g.seq.generated.Load()) <= k && !st.waitSeq(w, done, g.seq, k) {
				return
			}
		} else if latency {
			if !st.wait(w, done, next) {
				s.fixedDone(g, k)
				return
			}
			if k == 0 {
				first = time.Now()
			}
			next = first.Add(time.Duration(k+1) * s.cfg.ITL)
		} else if k&63 == 63 {
			select {
			case <-done:
				s.fixedDone(g, k)
				return
			default:
			}
		}
		if k == g.faultAt && g.fault != faultNone {
			switch g.fault {
			case faultStall:
				st.flush(w)
				s.fixedDone(g, k)
				if g.seq != nil {
					s.eng.cancel(g.seq)
				}
				<-done
				return
			case faultDrop:
				st.flush(w)
				s.fixedDone(g, k)
				if g.seq != nil {
					s.eng.cancel(g.seq)
				}
				panic(http.ErrAbortHandler)
			case faultMalformed:
				st.out = s.appendMalformed(st.out, g)
			}
		}
		b = st.out
		b = append(b, g.prefix...)
		if g.chat {
			if k < g.reasoning {
				b = s.appendReasoningDelta(b, quotedWords[wi])
			} else {
				b = append(b, `{"index":0,"delta":{"content":`...)
				b = append(b, quotedWords[wi]...)
			}
			b = append(b, `},"logprobs":null,"finish_reason":`...)
		} else {
			b = append(b, `{"index":0,"text":`...)
			b = append(b, quotedWords[wi]...)
			b = append(b, `,"logprobs":null,"finish_reason":`...)
		}
		if k == g.outTokens-1 {
			b = append(b, '"')
			b = append(b, g.finish...)
			b = append(b, `","stop_reason":null}`...)
		} else if g.chat {
			b = append(b, `null}`...)
		} else {
			b = append(b, `null,"stop_reason":null}`...)
		}
		b = g.chunkEnd(b)
		if wi++; wi == len(words) {
			wi = 0
		}
		if len(b) >= 32<<10 {
			if _, err := w.Write(b); err != nil {
				st.out = b[:0]
				s.fixedDone(g, k+1)
				return
			}
			b = b[:0]
		}
		st.out = b
	}
	b = st.out
	if g.includeUsage {
		b = append(b, g.prefix...)
		b = append(b, "],"...)
		b = g.appendUsage(b)
		b = append(b, "}\n\n"...)
	}
	b = append(b, "data: [DONE]\n\n"...)
	st.out = b
	w.Write(b)
	s.fixedDone(g, g.outTokens)
}

func (s *Server) complete(w http.ResponseWriter, r *http.Request, st *reqState, g *gen) {
	if g.seq != nil {
		if !st.waitSeq(w, r.Context().Done(), g.seq, g.outTokens-1) {
			return
		}
	} else if d := s.cfg.TTFT + time.Duration(g.outTokens-1)*s.cfg.ITL; d > 0 {
		if !st.wait(w, r.Context().Done(), g.t0.Add(d)) {
			s.fixedDone(g, 0)
			return
		}
	}
	b := st.out[:0]
	b = append(b, g.prefix...)
	wi := g.wordStart
	if g.chat {
		b = append(b, `{"index":0,"message":{"role":"assistant",`...)
		if g.reasoning > 0 {
			b = append(b, `"reasoning_content":"`...)
			for k := 0; k < g.reasoning; k++ {
				b = append(b, ' ')
				b = append(b, words[wi]...)
				if wi++; wi == len(words) {
					wi = 0
				}
			}
			b = append(b, `",`...)
		}
		b = append(b, `"content":"`...)
	} else {
		b = append(b, `{"index":0,"text":"`...)
	}
	for k := g.reasoning; k < g.outTokens; k++ {
		b = append(b, ' ')
		b = append(b, words[wi]...)
		if wi++; wi == len(words) {
			wi = 0
		}
	}
	if g.chat {
		b = append(b, `"},"logprobs":null,"finish_reason":"`...)
	} else {
		b = append(b, `","logprobs":null,"finish_reason":"`...)
	}
	b = append(b, g.finish...)
	b = append(b, `","stop_reason":null}],`...)
	b = g.appendUsage(b)
	b = append(b, '}')
	if g.fault == faultMalformed {
		b = b[:len(b)/2]
	}
	st.out = b
	w.Header()["Content-Type"] = hdrJSON
	w.Write(b)
	s.fixedDone(g, g.outTokens)
}

const hexDigits = "0123456789abcdef"

func appendHex64(b []byte, x uint64) []byte {
	for i := 60; i >= 0; i -= 4 {
		b = append(b, hexDigits[(x>>uint(i))&0xf])
	}
	return b
}

func appendUint(b []byte, x uint64) []byte { return strconv.AppendUint(b, x, 10) }

// appendJSONString appends s as a JSON string literal. Invalid UTF-8 becomes
// U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20 || c == 0x7f:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else if r == '\u2028' || r == '\u2029' {
			b = append(b, `\u202`...)
			b = append(b, hexDigits[r&0xf])
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}
