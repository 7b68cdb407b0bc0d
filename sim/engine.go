package sim

import (
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// seq is one request's sequence in the engine model. The handler fills the
// request fields and reads generated; everything else belongs to the
// engine goroutine.
type seq struct {
	arrival time.Time // at the server
	ready   time.Time // at the engine: arrival + Config.FrontendLatency
	prompt  int       // prompt tokens
	maxOut  int       // the request's max_tokens (reserve policy)
	out     int       // tokens to generate
	fin     int       // finStop or finLength
	hashes  []uint64  // prefix-cache block hashes of the prompt; nil without a prefix cache
	lora    int       // 0: the served model; else a LoRA adapter's index + 1
	// seqHashes are the block hashes of the prompt and the generated
	// tokens, cached when the sequence finishes.
	seqHashes []uint64
	// pooling marks an embeddings input: it is prefilled and then done,
	// with no token generated (generated reads 1 once it is).
	pooling bool
	// todo is, under chunked prefill (EngineV1), how many uncached tokens
	// of the sequence's context are still to be prefilled; chunk is how
	// many of its tokens the current step computes (1 when decoding, 0
	// when the step's token budget left none for it).
	todo, chunk int
	// counted says the prompt's tokens were counted (once, whatever
	// preemptions follow).
	counted bool

	generated atomic.Int32  // tokens generated so far, published by the engine
	cancelled atomic.Bool   // set by the handler when it gives up
	notify    chan struct{} // capacity 1: "generated changed"

	// Engine-private state. Times are engine (virtual) times.
	gen       int
	held      int // KV blocks held
	scheduled time.Time
	first     time.Time
	last      time.Time
}

// lagSlack is how far the engine's virtual clock may fall behind the real
// clock before it is pulled forward: timer overshoots smaller than this are
// made up by the following steps, so token rates stay exact on average.
const lagSlack = 100 * time.Millisecond

// engine simulates continuous batching: one goroutine, started when work
// arrives and gone when there is none, runs prefill and decode steps whose
// durations follow the Config's cost model, and publishes one token to
// every running sequence per step.
type engine struct {
	cfg         *Config
	m           *metrics
	reserve     bool // KVReserve policy
	maxSeqs     int
	maxBatched  int
	block       int
	totalBlocks int // 0: unlimited
	watermark   int // blocks kept free at admission (paged policy)
	// chunked schedules like vLLM's V1 engine (EngineV1): every step
	// mixes the running sequences' decodes with prefill chunks of new
	// ones, within MaxNumBatchedTokens. Otherwise prefill steps and
	// decode steps alternate, prefills first (EngineV0, TGI).
	chunked bool
	// virtual runs the engine on its own clock alone: steps do not wait
	// for the real time (the calibration replay, see replay.go).
	virtual bool
	pc      *prefixCache
	lora    *loraSlots // nil without LoRA adapters

	mu            sync.Mutex
	incoming      []*seq
	active        bool
	cancelPending atomic.Bool

	// Owned by the engine goroutine (handed over under mu).
	spare      []*seq
	waiting    []*seq
	wHead      int
	running    []*seq
	admitted   []*seq
	usedBlocks int
	pairs      int64 // attention pairs of the prompt tokens admitted this step
	vnow       time.Time
	timer      *time.Timer
	early      time.Duration // learnt timer lateness, see sleep
}

func newEngine(cfg *Config, m *metrics) *engine {
	e := &engine{
		cfg:        cfg,
		m:          m,
		reserve:    cfg.kvPolicy() == KVReserve,
		maxSeqs:    cfg.MaxNumSeqs,
		maxBatched: cfg.MaxNumBatchedTokens,
		block:      cfg.blockSize(),
		chunked:    cfg.EngineGeneration() == EngineV1,
	}
	if e.maxSeqs == 0 {
		e.maxSeqs = DefaultMaxNumSeqs
	}
	e.totalBlocks = cfg.KVCacheBudget() / e.block
	if !e.reserve {
		e.watermark = e.totalBlocks / 100 // vLLM's 1% watermark
	}
	if len(cfg.LoraAdapters) > 0 {
		e.lora = newLoraSlots(cfg, m)
	}
	if cfg.PrefixCache {
		capTokens := cfg.PrefixCacheTokens
		if capTokens == 0 {
			capTokens = e.totalBlocks * e.block
		}
		if capTokens == 0 {
			capTokens = 1 << 20
		}
		e.pc = newPrefixCache(capTokens / e.block)
	}
	return e
}

func (e *engine) blocksFor(tokens int) int { return (tokens + e.block - 1) / e.block }

// maxTokens returns the largest prompt + max_tokens the KV cache can ever
// hold for one sequence, or 0 when unlimited.
func (e *engine) maxTokens() int {
	if e.totalBlocks == 0 {
		return 0
	}
	return (e.totalBlocks - e.watermark) * e.block
}

// submit queues s; the engine goroutine is started when idle.
func (e *engine) submit(s *seq) {
	e.mu.Lock()
	e.incoming = append(e.incoming, s)
	start := !e.active
	e.active = true
	e.mu.Unlock()
	if start {
		go e.run()
	}
}

// cancel tells the engine that the handler of s has gone.
func (e *engine) cancel(s *seq) {
	if int(s.generated.Load()) < s.out {
		s.cancelled.Store(true)
		e.cancelPending.Store(true)
	}
}

func (e *engine) run() {
	for {
		e.mu.Lock()
		in := e.incoming
		e.incoming = e.spare
		if len(in) == 0 && len(e.running) == 0 && e.wHead == len(e.waiting) {
			clear(e.waiting)
			e.waiting, e.wHead = e.waiting[:0], 0
			e.publish(0)
			e.spare = in
			e.active = false
			e.mu.Unlock()
			return
		}
		e.mu.Unlock()
		e.waiting = append(e.waiting, in...)
		clear(in)
		e.spare = in[:0]
		e.once()
	}
}

// busy reports whether the engine has sequences to schedule or running.
func (e *engine) busy() bool {
	return len(e.running) > 0 || e.wHead < len(e.waiting)
}

// once runs one engine step: admission, then a prefill or a decode step
// (EngineV0), or one mixed step (EngineV1).
func (e *engine) once() {
	if e.cancelPending.Swap(false) {
		e.sweep()
	}
	if lag := time.Now().Add(-lagSlack); !e.virtual && e.vnow.Before(lag) {
		e.vnow = lag
	}
	if e.chunked {
		e.mixedStep()
		return
	}
	if tokens := e.admit(-1); len(e.admitted) > 0 {
		e.prefillStep(tokens)
	} else if len(e.running) > 0 {
		e.decodeStep()
	}
}

// admit moves waiting sequences (first come, first served) into e.admitted
// while the batch, the KV cache and the step's token budget allow, and
// returns the number of prompt tokens to compute this step. With budget <
// 0 (EngineV0) a sequence's whole uncached context is computed at once and
// the budget is MaxNumBatchedTokens, which one longer prompt may exceed
// alone. With budget >= 0 (EngineV1) the step has budget tokens left: the
// last sequence admitted gets a chunk of its context (s.chunk) and the
// rest in later steps (s.todo).
func (e *engine) admit(budget int) (tokens int) {
	e.pairs = 0
	if budget == 0 {
		e.admitted = e.admitted[:0]
		return 0
	}
	adm := e.admitted[:0]
	if e.lora != nil {
		e.lora.begin(e.running)
	}
	for e.wHead < len(e.waiting) {
		if len(e.running)+len(adm) >= e.maxSeqs {
			break
		}
		s := e.waiting[e.wHead]
		if s.cancelled.Load() {
			e.waiting[e.wHead] = nil
			e.wHead++
			e.drop(s)
			continue
		}
		if e.lora != nil && !e.lora.fits(s.lora) {
			// vLLM's scheduler passes over it: later requests whose
			// adapters fit the batch go first.
			e.waiting[e.wHead] = nil
			e.wHead++
			e.lora.skipped = append(e.lora.skipped, s)
			continue
		}
		ctx := s.prompt + s.gen // a preempted sequence recomputes its output too
		var need int
		if e.reserve {
			need = e.blocksFor(s.prompt + s.maxOut)
		} else {
			need = e.blocksFor(ctx + 1)
		}
		if e.totalBlocks > 0 && e.totalBlocks-e.usedBlocks-need < e.watermark {
			break
		}
		cached := 0
		if e.pc != nil && len(s.hashes) > 0 {
			cached = min(e.pc.lookup(s.hashes)*e.block, ctx-1)
		}
		if budget < 0 && e.maxBatched > 0 && len(adm) > 0 && tokens+ctx-cached > e.maxBatched {
			break
		}
		e.waiting[e.wHead] = nil
		e.wHead++
		e.usedBlocks += need
		s.held = need
		s.todo = ctx - cached
		s.chunk = s.todo
		if budget >= 0 {
			s.chunk = min(s.todo, budget-tokens)
		}
		tokens += s.chunk
		e.pairs += attentionPairs(cached, s.chunk)
		if !s.counted {
			s.counted = true
			e.m.promptToks.Add(uint64(s.prompt))
		}
		if e.pc != nil {
			e.m.pcQueries.Add(uint64(ctx))
			e.m.pcHits.Add(uint64(cached))
		}
		if e.lora != nil {
			e.lora.admit(s.lora)
		}
		adm = append(adm, s)
		if budget >= 0 && tokens >= budget {
			break
		}
	}
	if e.lora != nil {
		for i := len(e.lora.skipped) - 1; i >= 0; i-- {
			e.pushFront(e.lora.skipped[i])
		}
		clear(e.lora.skipped)
		e.lora.skipped = e.lora.skipped[:0]
	}
	e.admitted = adm
	if e.wHead > 0 && e.wHead*2 >= len(e.waiting) {
		n := copy(e.waiting, e.waiting[e.wHead:])
		clear(e.waiting[n:])
		e.waiting, e.wHead = e.waiting[:n], 0
	}
	return tokens
}

func (e *engine) prefillStep(tokens int) {
	adm := e.admitted
	start := e.vnow
	for _, s := range adm {
		if s.ready.After(start) {
			start = s.ready
		}
	}
	d := e.cfg.prefillStep(tokens, e.pairs)
	if e.lora != nil {
		d += e.lora.cost()
	}
	for _, s := range adm {
		if s.scheduled.IsZero() {
			s.scheduled = start
		}
	}
	e.vnow = start.Add(d)
	e.publish(len(adm))
	e.sleep()
	e.m.step(false, d, len(adm), tokens)
	generated := 0
	for _, s := range adm {
		if !s.pooling {
			generated++
		}
		if e.prefilled(s) {
			e.running = append(e.running, s)
		}
	}
	e.m.genToks.Add(uint64(generated))
	clear(adm)
	e.admitted = adm[:0]
}

func (e *engine) decodeStep() {
	if !e.reserve && e.totalBlocks > 0 {
		e.grow()
	}
	kv := 0
	for _, s := range e.running {
		kv += s.prompt + s.gen
	}
	d := e.cfg.decodeStep(len(e.running), kv)
	e.vnow = e.vnow.Add(d)
	e.publish(0)
	e.sleep()
	batch := len(e.running)
	e.m.step(true, d, batch, batch)
	n := 0
	for _, s := range e.running {
		if s.cancelled.Load() {
			e.drop(s)
			continue
		}
		if e.advance(s) {
			e.running[n] = s
			n++
		}
	}
	e.m.genToks.Add(uint64(batch))
	clear(e.running[n:])
	e.running = e.running[:n]
}

// mixedStep is one step of the V1 engine. The running sequences come
// first, in order: each decoding one computes one token and each one
// still prefilling its next chunk, while the step's token budget
// (MaxNumBatchedTokens) lasts; waiting sequences are then admitted into
// what is left, the last one with a chunk of its prompt. A sequence whose
// prefill completes in the step gets its first token at the step's end.
func (e *engine) mixedStep() {
	if !e.reserve && e.totalBlocks > 0 {
		e.grow()
	}
	left := e.maxBatched
	if left <= 0 {
		left = math.MaxInt
	}
	prefill, decodes, kv := 0, 0, 0
	var pairs int64
	for _, s := range e.running {
		switch {
		case left == 0:
			s.chunk = 0
		case s.todo > 0:
			s.chunk = min(s.todo, left)
			prefill += s.chunk
			pairs += attentionPairs(s.prompt+s.gen-s.todo, s.chunk)
		default:
			s.chunk = 1
			decodes++
			kv += s.prompt + s.gen
		}
		left -= s.chunk
	}
	start := e.vnow
	tokens := e.admit(left)
	adm := e.admitted
	for _, s := range adm {
		if s.ready.After(start) {
			start = s.ready
		}
		if s.scheduled.IsZero() {
			s.scheduled = start
		}
	}
	prefill += tokens
	pairs += e.pairs
	e.running = append(e.running, adm...)
	clear(adm)
	e.admitted = adm[:0]
	if prefill == 0 && decodes == 0 {
		return
	}
	d := e.cfg.mixedStep(prefill, pairs, decodes, kv)
	if e.lora != nil && len(adm) > 0 {
		d += e.lora.cost()
	}
	e.vnow = start.Add(d)
	e.publish(0)
	e.sleep()
	e.m.step(prefill == 0, d, len(e.running), prefill+decodes)
	n, generated := 0, 0
	for _, s := range e.running {
		if s.cancelled.Load() {
			e.drop(s)
			continue
		}
		if s.chunk == 0 {
			e.running[n] = s
			n++
			continue
		}
		if s.todo > 0 {
			s.todo -= s.chunk
			if s.todo > 0 {
				e.running[n] = s
				n++
				continue
			}
			if !s.pooling {
				generated++
			}
			if e.prefilled(s) {
				e.running[n] = s
				n++
			}
			continue
		}
		generated++
		if e.advance(s) {
			e.running[n] = s
			n++
		}
	}
	e.m.genToks.Add(uint64(generated))
	clear(e.running[n:])
	e.running = e.running[:n]
}

// prefilled ends the prefill of s at the current engine time: its prompt
// blocks join the prefix cache, an embeddings input is done, and a
// generation gets its first token (or, after a preemption, its next). It
// reports whether s goes on decoding.
func (e *engine) prefilled(s *seq) bool {
	if e.pc != nil {
		e.pc.insert(s.hashes)
	}
	if s.pooling {
		e.pooled(s)
		return false
	}
	return e.advance(s)
}

// advance gives s its next token at the current engine time and reports
// whether it goes on decoding (else it is finished).
func (e *engine) advance(s *seq) bool {
	e.emit(s)
	if s.gen >= s.out {
		e.finish(s)
		return false
	}
	return true
}

// grow gives every running sequence the blocks its next token needs,
// preempting the most recently admitted sequences (recompute, like vLLM)
// while the cache is short.
func (e *engine) grow() {
	for i := 0; i < len(e.running); i++ {
		s := e.running[i]
		need := e.blocksFor(s.prompt+s.gen+1) - s.held
		for need > e.totalBlocks-e.usedBlocks && i < len(e.running) {
			last := len(e.running) - 1
			v := e.running[last]
			e.running[last] = nil
			e.running = e.running[:last]
			e.usedBlocks -= v.held
			v.held = 0
			e.pushFront(v)
			e.m.preemptions.Add(1)
		}
		if i >= len(e.running) {
			return
		}
		if need > 0 {
			e.usedBlocks += need
			s.held += need
		}
	}
}

func (e *engine) pushFront(s *seq) {
	if e.wHead > 0 {
		e.wHead--
		e.waiting[e.wHead] = s
		return
	}
	e.waiting = append(e.waiting, nil)
	copy(e.waiting[1:], e.waiting)
	e.waiting[0] = s
}

// emit publishes one more token of s at the current engine time.
func (e *engine) emit(s *seq) {
	s.gen++
	if s.gen == 1 {
		s.first = e.vnow
		e.m.ttft.observeDur(e.vnow.Sub(s.arrival))
	} else {
		e.m.itl.observeDur(e.vnow.Sub(s.last))
	}
	s.last = e.vnow
	s.generated.Store(int32(s.gen))
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

// pooled ends an embeddings input once its prefill step is over.
func (e *engine) pooled(s *seq) {
	s.gen = 1
	s.first, s.last = e.vnow, e.vnow
	e.release(s)
	e.m.request(finStop, s.prompt, 0, s.scheduled.Sub(s.arrival), s.first.Sub(s.arrival), s.last.Sub(s.arrival))
	s.generated.Store(1)
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

func (e *engine) release(s *seq) {
	e.usedBlocks -= s.held
	s.held = 0
	s.hashes, s.seqHashes = nil, nil
}

func (e *engine) finish(s *seq) {
	if e.pc != nil {
		e.pc.insert(s.seqHashes)
	}
	e.release(s)
	e.m.request(s.fin, s.prompt, s.gen, s.scheduled.Sub(s.arrival), s.first.Sub(s.arrival), s.last.Sub(s.arrival))
}

func (e *engine) drop(s *seq) {
	e.release(s)
	e.m.request(finAbort, 0, 0, 0, 0, 0)
}

// sweep removes cancelled sequences from the queue and the batch.
func (e *engine) sweep() {
	n := e.wHead
	for _, s := range e.waiting[e.wHead:] {
		if s.cancelled.Load() {
			e.drop(s)
			continue
		}
		e.waiting[n] = s
		n++
	}
	clear(e.waiting[n:])
	e.waiting = e.waiting[:n]
	n = 0
	for _, s := range e.running {
		if s.cancelled.Load() {
			e.drop(s)
			continue
		}
		e.running[n] = s
		n++
	}
	clear(e.running[n:])
	e.running = e.running[:n]
}

func (e *engine) publish(prefilling int) {
	e.m.running.Store(int64(len(e.running) + prefilling))
	e.m.waiting.Store(int64(len(e.waiting) - e.wHead))
	e.m.kvUsed.Store(int64(e.usedBlocks))
	if e.lora != nil {
		var admitted []*seq
		if prefilling > 0 {
			admitted = e.admitted
		}
		e.lora.publish(e.running, admitted, e.waiting[e.wHead:])
	}
}

// sleep waits until the engine clock's time. Timers fire late by a
// fairly steady amount (scheduler and timer slack, often 0.1–1ms): the
// engine learns that lateness and wakes up that much earlier, so that
// tokens leave on time on average rather than late by the overshoot.
func (e *engine) sleep() {
	if e.virtual {
		return
	}
	d := time.Until(e.vnow) - e.early
	if d <= 0 {
		return
	}
	if e.timer == nil {
		e.timer = time.NewTimer(d)
	} else {
		e.timer.Reset(d)
	}
	<-e.timer.C
	late := time.Since(e.vnow)
	late = min(max(late, -time.Millisecond), time.Millisecond)
	e.early = min(max(e.early+late/4, 0), maxEarly)
}

// maxEarly bounds the engine's timer-lateness compensation.
const maxEarly = 2 * time.Millisecond
