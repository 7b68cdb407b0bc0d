package sim

import (
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode"
)

// LoRA adapters, as vLLM serves them (--enable-lora --lora-modules
// name=path --max-loras N): each adapter is a model name of its own in
// /v1/models and in requests. In engine mode at most MaxLoras adapters are
// resident on the GPU, a running batch holds at most MaxLoras distinct
// adapters (a request whose adapter would exceed that waits, and later
// requests whose adapters fit go ahead of it, as in vLLM's scheduler), and
// an adapter that is not resident is loaded when its request is admitted,
// adding LoraLoadTime to that prefill step and evicting the least recently
// used resident adapter that the batch does not hold. Fixed mode lists and
// accepts the adapters; it has no GPU to fill, so it ignores MaxLoras and
// LoraLoadTime.

// Bounds on LoRA settings.
const (
	// DefaultMaxLoras is the adapters resident at once when MaxLoras is
	// zero (vLLM's default).
	DefaultMaxLoras = 1
	// MaxLoraAdapters bounds the adapters one simulator serves.
	MaxLoraAdapters = 1000
	// maxLoraNameBytes bounds an adapter's name.
	maxLoraNameBytes = 256
	// LoraRootPrefix is the root path /v1/models shows for an adapter
	// (vLLM shows the adapter's local path).
	LoraRootPrefix = "/adapters/"
)

func (c *Config) maxLoras() int {
	if c.MaxLoras > 0 {
		return c.MaxLoras
	}
	return DefaultMaxLoras
}

// loraProblems reports invalid LoRA settings.
func (c *Config) loraProblems() []Problem {
	var ps []Problem
	add := func(knob, msg string) { ps = append(ps, Problem{knob, msg}) }
	if len(c.LoraAdapters) > MaxLoraAdapters {
		add("lora_adapters", "at most "+strconv.Itoa(MaxLoraAdapters)+" adapters, got "+strconv.Itoa(len(c.LoraAdapters)))
	} else {
		model := c.Model
		if model == "" {
			model = DefaultModel
		}
		seen := map[string]bool{}
		for _, name := range c.LoraAdapters {
			switch {
			case !validLoraName(name):
				add("lora_adapters", "adapter name "+strconv.Quote(name)+" must be 1 to "+strconv.Itoa(maxLoraNameBytes)+" bytes of printable characters")
			case name == model:
				add("lora_adapters", "adapter "+strconv.Quote(name)+" has the served model's name")
			case seen[name]:
				add("lora_adapters", "adapter "+strconv.Quote(name)+" is listed twice")
			}
			seen[name] = true
		}
	}
	if len(c.LoraAdapters) > 0 && c.flavor() == FlavorTGI {
		add("lora_adapters", "the tgi flavour does not serve adapters as models: use flavor vllm")
	}
	if c.MaxLoras < 0 {
		add("max_loras", "must not be negative, got "+strconv.Itoa(c.MaxLoras))
	}
	if c.LoraLoadTime < 0 {
		add("lora_load_time", "must not be negative, got "+c.LoraLoadTime.String())
	}
	return ps
}

func validLoraName(name string) bool {
	if name == "" || len(name) > maxLoraNameBytes {
		return false
	}
	for _, r := range name {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// sanitizeLora drops invalid, repeated and surplus adapters and clamps the
// numbers.
func (c *Config) sanitizeLora() {
	var keep []string
	seen := map[string]bool{c.Model: true}
	for _, name := range c.LoraAdapters {
		if len(keep) < MaxLoraAdapters && validLoraName(name) && !seen[name] {
			keep = append(keep, name)
			seen[name] = true
		}
	}
	if c.Flavor == FlavorTGI {
		keep = nil
	}
	c.LoraAdapters = keep
	c.MaxLoras = max(c.MaxLoras, 0)
	c.LoraLoadTime = max(c.LoraLoadTime, 0)
}

// loraIndex returns the model a request names: 0 for the served model
// (or none named), i+1 for LoraAdapters[i]; ok is false for a name the
// simulator does not serve.
func (s *Server) loraIndex(model string) (int, bool) {
	if model == "" || model == s.model {
		return 0, true
	}
	i, ok := s.loras[model]
	return i, ok
}

// appendLoraCards appends the /v1/models entries of the adapters, in
// vLLM's shape: root the adapter's path, parent the base model, no
// max_model_len.
func (s *Server) appendLoraCards(b []byte, created int64) []byte {
	for _, name := range s.cfg.LoraAdapters {
		b = append(b, `,{"id":`...)
		b = appendJSONString(b, name)
		b = append(b, `,"object":"model","created":`...)
		b = strconv.AppendInt(b, created, 10)
		b = append(b, `,"owned_by":"`+OwnedBy+`","root":`...)
		b = appendJSONString(b, LoraRootPrefix+name)
		b = append(b, `,"parent":`...)
		b = append(b, s.modelJSON...)
		b = append(b, `,"max_model_len":null}`...)
	}
	return b
}

// loraSlots is the engine's view of adapters: which are resident and which
// the batch being formed holds. It belongs to the engine goroutine.
type loraSlots struct {
	max      int
	loadTime time.Duration
	// resident are the adapters on the GPU, least recently used first.
	resident []int
	// batch counts, per adapter, the sequences of the batch being formed
	// (running and admitted); distinct is how many adapters it holds.
	batch    []int
	distinct int
	// loads is how many adapters the step being formed loads.
	loads int
	// skipped are waiting sequences passed over by the step being formed
	// because their adapter did not fit the batch.
	skipped []*seq

	names     []string // adapter names, by index-1
	mark      []bool   // scratch for publish
	running   []int    // last published
	waiting   []int
	scratchR  []int
	scratchW  []int
	m         *metrics
	published bool
}

func newLoraSlots(cfg *Config, m *metrics) *loraSlots {
	n := len(cfg.LoraAdapters) + 1
	return &loraSlots{max: cfg.maxLoras(), loadTime: cfg.LoraLoadTime, batch: make([]int, n), mark: make([]bool, n), names: cfg.LoraAdapters, m: m}
}

// begin starts forming a step on top of the running batch.
func (l *loraSlots) begin(running []*seq) {
	clear(l.batch)
	l.distinct, l.loads = 0, 0
	for _, s := range running {
		l.add(s.lora)
	}
}

func (l *loraSlots) add(id int) {
	if id == 0 {
		return
	}
	if l.batch[id] == 0 {
		l.distinct++
	}
	l.batch[id]++
}

// fits reports whether a sequence with adapter id may join the batch.
func (l *loraSlots) fits(id int) bool {
	return id == 0 || l.batch[id] > 0 || l.distinct < l.max
}

// admit puts a sequence with adapter id in the batch, loading the adapter
// when it is not resident.
func (l *loraSlots) admit(id int) {
	if id == 0 {
		return
	}
	l.add(id)
	if i := slices.Index(l.resident, id); i >= 0 {
		copy(l.resident[i:], l.resident[i+1:])
		l.resident[len(l.resident)-1] = id
		return
	}
	l.loads++
	if len(l.resident) >= l.max {
		// The batch holds at most max adapters, this one among them, so
		// some resident adapter is not in it.
		for i, r := range l.resident {
			if l.batch[r] == 0 {
				l.resident = slices.Delete(l.resident, i, i+1)
				break
			}
		}
	}
	l.resident = append(l.resident, id)
}

// cost is what loading the step's adapters adds to its prefill.
func (l *loraSlots) cost() time.Duration { return time.Duration(l.loads) * l.loadTime }

// publish records the adapters of the running batch and of the queue for
// vllm:lora_requests_info, when they changed.
func (l *loraSlots) publish(running, admitted, waiting []*seq) {
	l.scratchR = l.collect(l.scratchR, running, admitted)
	l.scratchW = l.collect(l.scratchW, waiting, nil)
	if l.published && slices.Equal(l.scratchR, l.running) && slices.Equal(l.scratchW, l.waiting) {
		return
	}
	l.running = append(l.running[:0], l.scratchR...)
	l.waiting = append(l.waiting[:0], l.scratchW...)
	l.published = true
	l.m.lora.Store(&loraInfo{running: l.join(l.running), waiting: l.join(l.waiting)})
}

// collect lists the adapters of seqs, in configuration order, into dst.
func (l *loraSlots) collect(dst []int, a, b []*seq) []int {
	clear(l.mark)
	for _, ss := range [2][]*seq{a, b} {
		for _, s := range ss {
			if s != nil {
				l.mark[s.lora] = true
			}
		}
	}
	dst = dst[:0]
	for id := 1; id < len(l.mark); id++ {
		if l.mark[id] {
			dst = append(dst, id)
		}
	}
	return dst
}

func (l *loraSlots) join(ids []int) string {
	var b strings.Builder
	for i, id := range ids {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(l.names[id-1])
	}
	return b.String()
}

// loraInfo is what vllm:lora_requests_info shows: the adapters of running
// and of waiting requests, comma-separated.
type loraInfo struct{ running, waiting string }

// loraMetrics is the LoRA state /metrics reads.
type loraMetrics struct {
	maxLora   string
	loraNames []string // nil without adapters
	// loraInflight counts fixed mode's requests in flight per adapter
	// (index-1).
	loraInflight []atomic.Int64
	lora         atomic.Pointer[loraInfo]
}

func (lm *loraMetrics) initLora(cfg *Config) {
	if len(cfg.LoraAdapters) == 0 {
		return
	}
	lm.maxLora = strconv.Itoa(cfg.maxLoras())
	lm.loraNames = cfg.LoraAdapters
	lm.loraInflight = make([]atomic.Int64, len(cfg.LoraAdapters))
}

// appendLoraInfo appends vLLM's vllm:lora_requests_info gauge: its value
// is the time of the last update (as vLLM sets it), its labels the
// adapters running and waiting. Only a server with adapters has it.
func (m *metrics) appendLoraInfo(b []byte) []byte {
	if m.loraNames == nil {
		return b
	}
	var info loraInfo
	if m.engine {
		if p := m.lora.Load(); p != nil {
			info = *p
		}
	} else {
		var names []string
		for i := range m.loraInflight {
			if m.loraInflight[i].Load() > 0 {
				names = append(names, m.loraNames[i])
			}
		}
		info.running = strings.Join(names, ",")
	}
	p := prom{b: b}
	p.header("vllm:lora_requests_info", "gauge", "Running stats on lora requests.")
	extra := string(appendPromLabel([]byte(`max_lora=`), m.maxLora))
	extra = string(appendPromLabel([]byte(extra+`,running_lora_adapters=`), info.running))
	extra = string(appendPromLabel([]byte(extra+`,waiting_lora_adapters=`), info.waiting))
	p.float("vllm:lora_requests_info", extra, float64(time.Now().UnixNano())/1e9)
	return p.b
}
