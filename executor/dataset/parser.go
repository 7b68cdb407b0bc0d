package dataset

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/benchplan/benchplan/plan"
)

// parser turns one record of a data file into an Item. The same parser
// reads a record when the file is scanned and when File.Item reads it back
// from the file, so that both agree.
type parser struct {
	cfg FileConfig
	// csv: the columns of the prompt, the output length and the answer
	// (-1: none), found in the header.
	col, outCol, answerCol int
	// outStated is true when the csv's output_tokens column was named in
	// columns: then it must exist.
	outStated bool
}

func newParser(cfg FileConfig) (*parser, error) {
	p := &parser{cfg: cfg, col: -1, outCol: -1, answerCol: -1}
	if c := cfg.Columns; c != nil {
		if c.Prompt == "" && c.Messages == "" {
			return nil, errors.New("columns needs prompt or messages")
		}
		if c.Messages != "" && !cfg.Chat {
			return nil, errors.New("columns.messages needs the chat API")
		}
	}
	if cfg.Format == "parquet" && (cfg.Columns == nil || cfg.Columns.Prompt == "") {
		return nil, errors.New("a Parquet file needs columns: { prompt: NAME }")
	}
	if cfg.MultiTurn && !cfg.Chat {
		return nil, errors.New("multi_turn needs the chat API")
	}
	if cfg.Format == "openai" && !cfg.Chat {
		return nil, errors.New("format openai needs the chat API")
	}
	return p, nil
}

// wrapAt places a record's mistake at its line.
func wrapAt(line int, err error) error {
	var le *lineError
	if errors.As(err, &le) {
		return err
	}
	return &lineError{line: line, msg: err.Error(), err: err}
}

// line reads a text, jsonl or openai line; skip is true for a record that
// holds no prompt.
func (p *parser) line(line []byte) (Item, bool, error) {
	switch p.cfg.Format {
	case "text":
		return Item{Prompt: string(line), OutputTokens: p.cfg.OutputTokens}, false, nil
	case "openai":
		it, err := p.openai(line)
		return it, false, err
	}
	if p.cfg.Columns != nil {
		return p.mapped(line)
	}
	it, err := p.jsonl(line)
	return it, false, err
}

// jsonl reads a jsonl line with `prompt` or `messages`, and optionally
// `output_tokens`.
func (p *parser) jsonl(line []byte) (Item, error) {
	var rec struct {
		Prompt       *string         `json:"prompt"`
		Messages     json.RawMessage `json:"messages"`
		OutputTokens *int            `json:"output_tokens"`
	}
	if err := json.Unmarshal(line, &rec); err != nil {
		return Item{}, fmt.Errorf("not a JSON object: %v", err)
	}
	it := Item{OutputTokens: p.cfg.OutputTokens}
	if rec.OutputTokens != nil {
		if err := checkOutput(*rec.OutputTokens); err != nil {
			return Item{}, err
		}
		it.OutputTokens = *rec.OutputTokens
	}
	hasMessages := len(rec.Messages) > 0 && string(rec.Messages) != "null"
	switch {
	case rec.Prompt != nil && hasMessages:
		return Item{}, errors.New("has both prompt and messages: give one")
	case rec.Prompt != nil:
		it.Prompt = *rec.Prompt
	case hasMessages:
		if !p.cfg.Chat {
			return Item{}, errors.New("has messages, but the scenario uses the completions API, which takes a prompt")
		}
		m, err := messages(rec.Messages, "messages")
		if err != nil {
			return Item{}, err
		}
		it.Messages = m
	default:
		return Item{}, errors.New(`needs "prompt" (a string) or "messages" (an array)`)
	}
	return it, nil
}

// openai reads an OpenAI chat request per line: `messages`, and the output
// length from `max_completion_tokens`, `max_tokens` or `output_tokens`.
// Other fields (model, temperature, ...) are ignored.
func (p *parser) openai(line []byte) (Item, error) {
	var rec struct {
		Messages            json.RawMessage `json:"messages"`
		MaxTokens           *int            `json:"max_tokens"`
		MaxCompletionTokens *int            `json:"max_completion_tokens"`
		OutputTokens        *int            `json:"output_tokens"`
	}
	if err := json.Unmarshal(line, &rec); err != nil {
		return Item{}, fmt.Errorf("not a JSON object: %v", err)
	}
	if len(rec.Messages) == 0 || string(rec.Messages) == "null" {
		return Item{}, errors.New(`needs "messages" (an array of {role, content})`)
	}
	m, err := messages(rec.Messages, "messages")
	if err != nil {
		return Item{}, err
	}
	it := Item{Messages: m, OutputTokens: p.cfg.OutputTokens}
	for _, v := range []*int{rec.MaxCompletionTokens, rec.MaxTokens, rec.OutputTokens} {
		if v != nil {
			if err := checkOutput(*v); err != nil {
				return Item{}, err
			}
			it.OutputTokens = *v
			break
		}
	}
	return it, nil
}

// checkOutput checks a length a record states.
func checkOutput(v int) error {
	if v < 1 || v > plan.MaxTokens {
		return fmt.Errorf("output_tokens must be in 1..%d, got %d", plan.MaxTokens, v)
	}
	return nil
}

// chatMessage is a message of either shape data files use: OpenAI's
// {role, content} or ShareGPT's {from, value}.
type chatMessage struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
	From    string          `json:"from"`
	Value   *string         `json:"value"`
}

// messages checks a messages array and returns it compact, as OpenAI's
// {role, content} (ShareGPT's {from, value} converted).
func messages(raw json.RawMessage, name string) (json.RawMessage, error) {
	var msgs []chatMessage
	if err := json.Unmarshal(raw, &msgs); err != nil || len(msgs) == 0 {
		return nil, fmt.Errorf("%s must be a non-empty array of {role, content}", name)
	}
	converted := false
	for k, m := range msgs {
		switch {
		case m.Role != "":
		case m.From != "":
			role, ok := roles[strings.ToLower(m.From)]
			if !ok {
				return nil, fmt.Errorf("%s[%d] has from %q: not a role (%s)", name, k, clip(m.From), roleNames)
			}
			msgs[k].Role = role
			if m.Value == nil {
				return nil, fmt.Errorf("%s[%d] has no value", name, k)
			}
			converted = true
		default:
			return nil, fmt.Errorf("%s[%d] has no role", name, k)
		}
	}
	if !converted {
		var compact bytes.Buffer
		_ = json.Compact(&compact, raw)
		return compact.Bytes(), nil
	}
	turns := make([]Turn, len(msgs))
	for k, m := range msgs {
		turns[k] = Turn{Role: m.Role}
		if m.Value != nil {
			turns[k].Content = *m.Value
		} else if err := json.Unmarshal(m.Content, &turns[k].Content); err != nil {
			return nil, fmt.Errorf("%s[%d] mixes {role, content} with {from, value}: give one shape", name, k)
		}
	}
	return encodeTurns(turns), nil
}

// mapped reads a jsonl line through the plan's columns.
func (p *parser) mapped(line []byte) (Item, bool, error) {
	var rec map[string]json.RawMessage
	if err := json.Unmarshal(line, &rec); err != nil {
		return Item{}, false, fmt.Errorf("not a JSON object: %v", err)
	}
	c := p.cfg.Columns
	field := func(name string) (json.RawMessage, error) {
		v, ok := rec[name]
		if !ok {
			names := make([]string, 0, len(rec))
			for k := range rec {
				names = append(names, k)
			}
			if s := closest(name, names); s != "" {
				return nil, fmt.Errorf("no field %q in the record (did you mean %q?)", clip(name), clip(s))
			}
			return nil, fmt.Errorf("no field %q in the record (fields: %s)", clip(name), fieldList(rec))
		}
		return v, nil
	}
	it := Item{OutputTokens: p.cfg.OutputTokens}
	if c.Prompt != "" {
		v, err := field(c.Prompt)
		if err != nil {
			return Item{}, false, err
		}
		if string(v) == "null" {
			return Item{}, true, nil
		}
		if err := json.Unmarshal(v, &it.Prompt); err != nil {
			return Item{}, false, fmt.Errorf("field %q must be a string", clip(c.Prompt))
		}
		if strings.TrimSpace(it.Prompt) == "" {
			return Item{}, true, nil
		}
	} else {
		v, err := field(c.Messages)
		if err != nil {
			return Item{}, false, err
		}
		if it.Messages, err = messages(v, "field "+strconv.Quote(clip(c.Messages))); err != nil {
			return Item{}, false, err
		}
	}
	if c.Answer != "" && p.cfg.OutputTokens == 0 {
		v, err := field(c.Answer)
		if err != nil {
			return Item{}, false, err
		}
		var answer string
		if string(v) != "null" {
			if err := json.Unmarshal(v, &answer); err != nil {
				return Item{}, false, fmt.Errorf("field %q must be a string", clip(c.Answer))
			}
			it.OutputTokens = EstimateTokens(answer)
		}
	}
	if c.OutputTokens != "" {
		v, err := field(c.OutputTokens)
		if err != nil {
			return Item{}, false, err
		}
		if string(v) != "null" {
			var n json.Number
			if err := json.Unmarshal(bytes.Trim(v, `"`), &n); err != nil {
				return Item{}, false, fmt.Errorf("field %q must be a whole number, got %s", clip(c.OutputTokens), clip(string(v)))
			}
			k, err := strconv.Atoi(n.String())
			if err != nil {
				return Item{}, false, fmt.Errorf("field %q must be a whole number, got %s", clip(c.OutputTokens), clip(string(v)))
			}
			if err := checkOutput(k); err != nil {
				return Item{}, false, err
			}
			it.OutputTokens = k
		}
	}
	return it, false, nil
}

// fieldList names a record's fields, sorted, for a message.
func fieldList(rec map[string]json.RawMessage) string {
	names := make([]string, 0, len(rec))
	for k := range rec {
		names = append(names, clip(k))
	}
	sort.Strings(names)
	if len(names) > 20 {
		names = append(names[:20:20], "...")
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// header finds a csv file's columns.
func (p *parser) header(head []string) error {
	prompt, out, answer := p.cfg.Column, "output_tokens", ""
	if c := p.cfg.Columns; c != nil {
		if c.Prompt != "" {
			prompt = c.Prompt
		}
		if c.OutputTokens != "" {
			out, p.outStated = c.OutputTokens, true
		}
		answer = c.Answer
	}
	if prompt == "" {
		prompt = "prompt"
	}
	names := make([]string, len(head))
	for k, h := range head {
		if k == 0 {
			h = strings.TrimPrefix(h, "\xef\xbb\xbf")
		}
		h = strings.TrimSpace(h)
		names[k] = h
		switch h {
		case prompt:
			if p.col < 0 {
				p.col = k
			}
		case out:
			if p.outCol < 0 {
				p.outCol = k
			}
		}
		if answer != "" && h == answer && p.answerCol < 0 {
			p.answerCol = k
		}
	}
	missing := func(name string) error {
		if s := closest(name, names); s != "" {
			return fmt.Errorf("no column %q in the header (did you mean %q?)", clip(name), clip(s))
		}
		for k := range names {
			names[k] = clip(names[k])
		}
		shown := names
		if len(shown) > 20 {
			shown = append(shown[:20:20], "...")
		}
		return fmt.Errorf("no column %q in the header (columns: %s)", clip(name), strings.Join(shown, ", "))
	}
	switch {
	case p.col < 0:
		return missing(prompt)
	case p.outStated && p.outCol < 0:
		return missing(out)
	case answer != "" && p.answerCol < 0:
		return missing(answer)
	}
	return nil
}

// fields reads a csv record.
func (p *parser) fields(rec []string) (Item, bool, error) {
	if p.col >= len(rec) || strings.TrimSpace(rec[p.col]) == "" {
		return Item{}, true, nil
	}
	it := Item{Prompt: strings.Clone(rec[p.col]), OutputTokens: p.cfg.OutputTokens}
	if p.answerCol >= 0 && p.answerCol < len(rec) && p.cfg.OutputTokens == 0 {
		it.OutputTokens = EstimateTokens(rec[p.answerCol])
	}
	if p.outCol >= 0 && p.outCol < len(rec) && strings.TrimSpace(rec[p.outCol]) != "" {
		v, err := strconv.Atoi(strings.TrimSpace(rec[p.outCol]))
		if err != nil {
			return Item{}, false, fmt.Errorf("output_tokens must be a whole number, got %q", clip(rec[p.outCol]))
		}
		if err := checkOutput(v); err != nil {
			return Item{}, false, err
		}
		it.OutputTokens = v
	}
	return it, false, nil
}

// EstimateTokens estimates the tokens of text when no tokenizer is at hand
// (a ShareGPT answer, an answer column): the larger of 4/3 of its words and
// a quarter of its characters (for text written without spaces), at least
// 1 for text that has any, at most plan.MaxTokens. Most English text takes
// 1.3 to 1.5 tokens a word in GPT, Llama and Mistral tokenizers.
func EstimateTokens(text string) int {
	words, inWord := 0, false
	for _, r := range text {
		space := unicode.IsSpace(r)
		if !space && !inWord {
			words++
		}
		inWord = !space
	}
	if words == 0 {
		return 0
	}
	byWords := math.Ceil(float64(words) * 4 / 3)
	byChars := math.Ceil(float64(utf8.RuneCountInString(text)) / 4)
	return int(min(max(byWords, byChars, 1), plan.MaxTokens))
}

// closest is the name nearest to name, if near enough to be a typo (as
// the plan's own suggestions).
func closest(name string, names []string) string {
	best, bestD := "", 1<<30
	for _, c := range names {
		if len(c) > 256 {
			continue // the distance costs len(name)*len(c)
		}
		if d := plan.EditDistance(name, c); d < bestD || d == bestD && c < best {
			best, bestD = c, d
		}
	}
	if best != "" && bestD <= max(1, min(len(name), len(best))/3) {
		return best
	}
	return ""
}
