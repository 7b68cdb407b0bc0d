// Package dataset makes the prompts a scenario sends: emulated prompts of
// exact token counts, or prompts read from a data file (text, jsonl, csv,
// ShareGPT JSON, OpenAI messages), streamed: a file is indexed once and
// each request's record read from it when the request is sent.
package dataset

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"
)

// Item is what one request sends.
type Item struct {
	// Prompt is the prompt text (the user message, for chat).
	Prompt string
	// Messages, when set, is a chat request's whole messages array.
	Messages json.RawMessage
	// OutputTokens is the output length asked for; 0 leaves it to the server.
	OutputTokens int
	// Images is the number of images Messages carries (WithImages).
	Images int
	// TextTokens is, for a request with images, the prompt's length in
	// tokens without them (emulated data: PromptLength).
	TextTokens int
	// Inputs are an embeddings request's inputs (see Batch); nil otherwise.
	Inputs []string
	// Turns, for a record that is a conversation (sharegpt), are all its
	// turns in order, whatever was sent.
	Turns []Turn
	// Err, when set, is why request i has no data (its file changed or
	// could not be read during the run): the request is not sent, and
	// counts as failed.
	Err error
}

// Source gives request i its data. Item is a pure function of i and safe for
// concurrent use.
type Source interface {
	Item(i int) Item
}

// words are common English words that the built-in simulator's tokenizer
// counts as one token each, and that most LLM tokenizers (GPT, Llama,
// Mistral, Qwen) encode as one token each after a space. There are 256, so
// three of them number 16.7 million requests.
var words = strings.Fields(`the of and to in is that it for on with as was at by be this are from or have an they which one you
were her all she there would their we him been has when who will more no if out so said what up its
about into than them can only other new some could time these two may then do first any my now such
like our over man me even most made after also did many before must through back years where much
your way well down should because each just those people how too little state good very make world
still own see men work long get here between both life being under never day same another know while
last might us great old year off come since against go came right used take three person thing hand
part child eye woman place week case point government company number group problem fact say think
look want give use find tell ask seem feel try leave call high different small large next early
young important few public bad able house school country family night home water room mother area
money story month lot book job word business issue side kind head far black white red blue green
city car line end open run move live play turn start show hear let begin keep talk hold bring happen
write sit stand lose pay meet include continue set learn change lead understand watch follow stop
create speak read allow add spend grow`)

// uniqueWords is how many words at the start of an emulated prompt (after
// any shared prefix) spell the request's index, so that no two requests
// share a prefix a server could cache.
const uniqueWords = 3

// ErrNoTokenizer is what a Counter returns when the server has no tokenizer
// endpoint.
var ErrNoTokenizer = errors.New("the server has no /tokenize endpoint")

// Counter counts the prompt tokens the server would see for prompt text.
// templated is false when the count leaves out a chat template the server
// applies to real requests.
type Counter func(ctx context.Context, prompt string) (n int, templated bool, err error)

// EmulatedConfig describes emulated data; lengths are in tokens.
type EmulatedConfig struct {
	PromptTokens, PromptStdev, PromptMin, PromptMax int
	OutputTokens, OutputStdev, OutputMin, OutputMax int
	// SharedPrefixTokens starts every prompt with the same words.
	SharedPrefixTokens int
	// Seed draws lengths (stdev > 0) reproducibly.
	Seed int64
}

// Emulated makes synthetic prompts: SharedPrefixTokens common words, then
// words that spell the request index (unique per request), then filler
// words, as many as make the prompt exactly its length in the server's
// tokens once Calibrate has measured them.
type Emulated struct {
	cfg EmulatedConfig
	key uint64

	// overhead is what the server counts beyond the words (a chat
	// template, a BOS token), as measured by Calibrate.
	overhead int
	mu       sync.RWMutex
	// wordsFor maps a prompt length to the words that make it exactly, for
	// the lengths Calibrate measured.
	wordsFor map[int]int
	filler   string
	offsets  []int // offsets[k] is the end of filler word k-1 in filler
	shared   string
	sharedN  int
}

// NewEmulated returns emulated data for cfg, estimating one token per word
// until Calibrate measures the server's tokenizer.
func NewEmulated(cfg EmulatedConfig) *Emulated {
	if cfg.Seed == 0 {
		cfg.Seed = 1
	}
	e := &Emulated{cfg: cfg, key: mix64(uint64(cfg.Seed) + 0x9e3779b97f4a7c15), wordsFor: map[int]int{}}
	var sb strings.Builder
	for k := 0; k < cfg.SharedPrefixTokens; k++ {
		sb.WriteString(words[(k*37+11)%len(words)])
		sb.WriteByte(' ')
	}
	e.shared, e.sharedN = sb.String(), cfg.SharedPrefixTokens
	e.growFiller(e.maxPromptTokens() + 8)
	return e
}

func (e *Emulated) maxPromptTokens() int {
	c := e.cfg
	switch {
	case c.PromptStdev == 0:
		return c.PromptTokens
	case c.PromptMax > 0:
		return c.PromptMax
	}
	return c.PromptTokens + 8*c.PromptStdev
}

// growFiller makes the filler at least n words long.
func (e *Emulated) growFiller(n int) {
	if len(e.offsets) > n {
		return
	}
	var sb strings.Builder
	sb.WriteString(e.filler)
	if len(e.offsets) == 0 {
		e.offsets = []int{0}
	}
	for k := len(e.offsets) - 1; k < n; k++ {
		if k > 0 {
			sb.WriteByte(' ')
		}
		sb.WriteString(words[(k*13+7)%len(words)])
		e.offsets = append(e.offsets, sb.Len())
	}
	e.filler = sb.String()
}

// Config returns the configuration.
func (e *Emulated) Config() EmulatedConfig { return e.cfg }

// PromptLength is request i's prompt length in tokens.
func (e *Emulated) PromptLength(i int) int {
	c := e.cfg
	return e.draw(i, 1, c.PromptTokens, c.PromptStdev, c.PromptMin, c.PromptMax, e.maxPromptTokens())
}

// OutputLength is request i's output length in tokens.
func (e *Emulated) OutputLength(i int) int {
	c := e.cfg
	return e.draw(i, 2, c.OutputTokens, c.OutputStdev, c.OutputMin, c.OutputMax, c.OutputTokens+8*c.OutputStdev)
}

// draw returns mean + stdev*N(0,1) for (seed, i, stream), rounded and kept
// within [lo (at least 1), hi (when positive)] and below ceiling.
func (e *Emulated) draw(i int, stream uint64, mean, stdev, lo, hi, ceiling int) int {
	v := mean
	if stdev > 0 {
		u1 := unit(mix64(e.key ^ stream<<56 ^ uint64(i)*0xbf58476d1ce4e5b9))
		u2 := unit(mix64(e.key ^ stream<<56 ^ uint64(i)*0xbf58476d1ce4e5b9 ^ 0x94d049bb133111eb))
		z := math.Sqrt(-2*math.Log(1-u1)) * math.Cos(2*math.Pi*u2)
		v = int(math.Round(float64(mean) + float64(stdev)*z))
		v = min(v, ceiling)
	}
	if hi > 0 {
		v = min(v, hi)
	}
	return max(v, lo, 1)
}

func unit(x uint64) float64 { return float64(x>>11) / (1 << 53) }

// mix64 is the splitmix64 finalizer.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// Item returns request i's prompt and output length.
func (e *Emulated) Item(i int) Item {
	return Item{Prompt: e.Prompt(i), OutputTokens: e.OutputLength(i)}
}

// Prompt returns request i's prompt text.
func (e *Emulated) Prompt(i int) string {
	return e.text(i, e.words(e.PromptLength(i)))
}

// words returns how many words make a prompt of n tokens.
func (e *Emulated) words(n int) int {
	e.mu.RLock()
	w, ok := e.wordsFor[n]
	e.mu.RUnlock()
	if ok {
		return w
	}
	return max(n-e.overhead, 1)
}

// text builds request i's prompt of w words.
func (e *Emulated) text(i, w int) string {
	shared := min(e.sharedN, w)
	unique := min(uniqueWords, w-shared)
	fill := w - shared - unique
	e.mu.RLock()
	if fill >= len(e.offsets) {
		e.mu.RUnlock()
		e.mu.Lock()
		e.growFiller(fill + 1)
		e.mu.Unlock()
		e.mu.RLock()
	}
	filler, end := e.filler, e.offsets[fill]
	e.mu.RUnlock()
	var sb strings.Builder
	sb.Grow(len(e.shared) + 32 + end)
	if shared == e.sharedN {
		sb.WriteString(e.shared)
	} else {
		sb.WriteString(e.shared[:wordEnd(e.shared, shared)])
	}
	// The index in base len(words), least significant digit first.
	x := i
	for k := 0; k < unique; k++ {
		if k > 0 {
			sb.WriteByte(' ')
		}
		sb.WriteString(words[x%len(words)])
		x /= len(words)
	}
	if fill > 0 {
		if unique > 0 {
			sb.WriteByte(' ')
		}
		sb.WriteString(filler[:end])
	}
	return strings.TrimRight(sb.String(), " ")
}

// wordEnd returns the offset just after the first n space-ended words of s.
func wordEnd(s string, n int) int {
	off := 0
	for k := 0; k < n; k++ {
		off += strings.IndexByte(s[off:], ' ') + 1
	}
	return off
}

// Calibration says how exact emulated prompt lengths are.
type Calibration struct {
	// Exact is true when the server's tokenizer confirmed the lengths.
	Exact bool
	// Tokenizer is "server /tokenize" or "built-in approximation".
	Tokenizer string
	// Note explains why lengths are approximate ("" when exact).
	Note string
	// Calls is the number of /tokenize requests made.
	Calls int
}

// Calibrate measures prompts with the server's tokenizer and adjusts the
// word counts until prompts are exactly their length: first the mean
// length (which gives the overhead of a chat template or BOS token), then
// up to 16 other lengths among the first n requests' (n = 0: 2,000).
// Lengths it did not measure use the measured overhead (each word is one
// token). With no counter, or when the server has no tokenizer, lengths
// stay the built-in estimate: one token per word.
func (e *Emulated) Calibrate(ctx context.Context, count Counter, n int) Calibration {
	approx := Calibration{Tokenizer: "built-in approximation"}
	if count == nil {
		approx.Note = "the server has no /tokenize: prompt lengths are estimated at one token per word"
		return approx
	}
	cal := Calibration{Exact: true, Tokenizer: "server /tokenize"}
	measure := func(i, w int) (int, error) {
		cal.Calls++
		c, templated, err := count(ctx, e.text(i, w))
		if err == nil && !templated {
			cal.Exact = false
			cal.Note = "the server's /tokenize leaves out the chat template: prompts are exact before it"
		}
		return c, err
	}
	// fit finds the words that make length L exactly, starting from guess.
	fit := func(i, L, guess int) (int, bool, error) {
		w := max(guess, 1)
		for range 6 {
			c, err := measure(i, w)
			if err != nil {
				return 0, false, err
			}
			if c == L {
				return w, true, nil
			}
			next := max(w+L-c, 1)
			if next == w {
				break
			}
			w = next
		}
		return w, false, nil
	}
	L0 := e.cfg.PromptTokens
	w0, ok, err := fit(0, L0, L0)
	if errors.Is(err, ErrNoTokenizer) {
		approx.Note = "the server has no /tokenize: prompt lengths are estimated at one token per word"
		return approx
	}
	if err != nil {
		approx.Note = fmt.Sprintf("measuring prompts with the server's /tokenize failed (%v): prompt lengths are estimated at one token per word", err)
		return approx
	}
	e.mu.Lock()
	e.overhead = L0 - w0
	e.wordsFor[L0] = w0
	e.mu.Unlock()
	if !ok {
		cal.Exact = false
		cal.Note = fmt.Sprintf("no prompt of emulated words measures exactly %d tokens on this server (a chat template longer than the prompt?)", L0)
		return cal
	}
	// Another request's prompt must measure the same.
	if c, err := measure(uniqueCheckIndex, w0); err != nil || c != L0 {
		cal.Exact = false
		cal.Note = "prompts of the same length measure differently on this server's tokenizer: lengths are approximate"
		return cal
	}
	if e.cfg.PromptStdev > 0 {
		if n <= 0 || n > 2000 {
			n = 2000
		}
		seen := map[int]bool{L0: true}
		var lengths []int
		for i := range n {
			if L := e.PromptLength(i); !seen[L] {
				seen[L] = true
				lengths = append(lengths, L)
			}
		}
		sort.Ints(lengths)
		for _, L := range sample(lengths, 16) {
			w, ok, err := fit(0, L, max(L-e.overhead, 1))
			if err != nil || !ok {
				cal.Exact = false
				cal.Note = fmt.Sprintf("a %d-token prompt could not be made exact on this server: drawn lengths are approximate", L)
				continue
			}
			e.mu.Lock()
			e.wordsFor[L] = w
			e.mu.Unlock()
			if w != L-e.overhead {
				cal.Exact = false
				cal.Note = "this server's tokenizer does not count one token per emulated word: drawn lengths are approximate"
			}
		}
	}
	return cal
}

// uniqueCheckIndex is a request index whose unique words differ from
// request 0's in every position.
const uniqueCheckIndex = 1 + 2*256 + 3*256*256 + 77

// sample picks at most k values spread over sorted, first and last included.
func sample(sorted []int, k int) []int {
	if len(sorted) <= k {
		return sorted
	}
	out := make([]int, k)
	for j := range k {
		out[j] = sorted[j*(len(sorted)-1)/(k-1)]
	}
	return out
}
