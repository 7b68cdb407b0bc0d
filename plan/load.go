package plan

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"reflect"
	"slices"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"
)

// Read loads the plan file at path: strict YAML decoding, defaults merged
// into scenarios, semantic checks. Mistakes come back as Errors, each with
// file, line, column and the source line.
func Read(path string) (*Plan, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read plan: %w", err)
	}
	return Parse(path, src)
}

// Parse loads a plan from its text; file names it in errors.
func Parse(file string, src []byte) (*Plan, error) {
	p := &Plan{File: file, Source: src}
	f, err := parser.ParseBytes(src, 0)
	if err != nil {
		return nil, Errors{p.fromYAML(err)}
	}
	p.ast = f
	if err := yaml.UnmarshalWithOptions(src, p, yaml.Strict()); err != nil {
		return nil, Errors{p.fromYAML(err)}
	}
	if es := p.check(); len(es) > 0 {
		es.sort()
		return nil, es
	}
	return p, nil
}

// fromYAML turns a goccy/go-yaml error into a positioned Error.
func (p *Plan) fromYAML(err error) *Error {
	var te *tokenError
	if errors.As(err, &te) {
		return p.errAtToken(te.tok, te.msg)
	}
	var ye yaml.Error
	if errors.As(err, &ye) {
		msg := ye.GetMessage()
		var uf *yaml.UnknownFieldError
		if errors.As(err, &uf) {
			name := strings.Trim(strings.TrimPrefix(msg, "unknown field "), `"`)
			if s := suggest(name, fieldNames()); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
		}
		var tye *yaml.TypeError
		if errors.As(err, &tye) && tye.Token != nil {
			msg = fmt.Sprintf("expected %s, got %q", kindName(tye.DstType), tye.Token.Value)
		}
		return p.errAtToken(ye.GetToken(), msg)
	}
	return &Error{File: p.File, Line: 1, Column: 1, Message: err.Error()}
}

func kindName(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int64, reflect.Int32:
		return "an integer"
	case reflect.Float64, reflect.Float32:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice:
		return "a list"
	case reflect.Map, reflect.Struct:
		return "a mapping"
	}
	return t.String()
}

func (p *Plan) errAtToken(tok *token.Token, msg string) *Error {
	e := &Error{File: p.File, Line: 1, Column: 1, Message: msg}
	if tok != nil && tok.Position != nil {
		e.Line, e.Column = tok.Position.Line, tok.Position.Column
	}
	e.SourceLine = p.line(e.Line)
	return e
}

func (p *Plan) line(n int) string {
	lines := strings.Split(string(p.Source), "\n")
	if n < 1 || n > len(lines) {
		return ""
	}
	return strings.TrimRight(lines[n-1], "\r")
}

// node finds the node at a YAML path such as $.scenarios[1].load.type.
func (p *Plan) node(path string) ast.Node {
	if p.ast == nil {
		return nil
	}
	yp, err := yaml.PathString(path)
	if err != nil {
		return nil
	}
	n, err := yp.FilterFile(p.ast)
	if err != nil || n == nil || reflect.ValueOf(n).IsNil() {
		return nil
	}
	return n
}

// ErrorAt makes a positioned Error at the first of paths that exists in the
// file (YAML paths like $.scenarios[0].assert[1]); offset moves the column
// right within a scalar, counted from its first character of content.
func (p *Plan) ErrorAt(offset int, msg string, paths ...string) *Error {
	for _, path := range paths {
		n := p.node(path)
		if n == nil {
			continue
		}
		switch m := n.(type) {
		case *ast.MappingNode:
			if len(m.Values) > 0 {
				n = m.Values[0].Key
			}
		case *ast.MappingValueNode:
			n = m.Key
		}
		tok := n.GetToken()
		e := p.errAtToken(tok, msg)
		if tok != nil && (tok.Type == token.DoubleQuoteType || tok.Type == token.SingleQuoteType) {
			e.Column++
		}
		e.Column += offset
		return e
	}
	return &Error{File: p.File, Line: 1, Column: 1, Message: msg, SourceLine: p.line(1)}
}

// ScenarioPath is the YAML path of scenario i, for ErrorAt.
func ScenarioPath(i int) string { return fmt.Sprintf("$.scenarios[%d]", i) }

// check merges defaults and returns every semantic mistake.
func (p *Plan) check() Errors {
	var es Errors
	add := func(offset int, msg string, paths ...string) {
		es = append(es, p.ErrorAt(offset, msg, paths...))
	}
	if p.Version != 1 {
		if p.node("$.version") == nil {
			add(0, "missing version: write `version: 1` at the top", "$")
		} else {
			add(0, fmt.Sprintf("unsupported version %d: this benchplan reads version 1", p.Version), "$.version")
		}
	}
	if strings.TrimSpace(p.Name) == "" {
		add(0, "missing name: every plan needs a name, used in reports", "$.name", "$")
	}
	if len(p.Servers) == 0 {
		add(0, "no servers: declare at least one under `servers:`", "$.servers", "$")
	}
	names := make([]string, 0, len(p.Servers))
	for name := range p.Servers {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		s := p.Servers[name]
		at := "$.servers." + name
		if s == nil {
			add(0, fmt.Sprintf("server %q is empty: give it `url:` or `sim:`", name), at)
			continue
		}
		switch {
		case s.URL != "" && s.Sim != nil:
			add(0, fmt.Sprintf("server %q has both url and sim: choose one", name), at+".sim", at)
		case s.URL == "" && s.Sim == nil:
			add(0, fmt.Sprintf("server %q needs `url:` (a running server) or `sim:` (the built-in simulator)", name), at)
		case s.URL != "":
			u, err := url.Parse(s.URL)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				add(0, fmt.Sprintf("server %q: url %q is not an http(s) URL like http://127.0.0.1:8000", name, s.URL), at+".url")
			}
		}
		if s.Sim != nil {
			if s.Sim.TTFT.D() < 0 {
				add(0, "sim.ttft must not be negative", at+".sim.ttft")
			}
			if s.Sim.ITL.D() < 0 {
				add(0, "sim.itl must not be negative", at+".sim.itl")
			}
		}
	}
	if len(p.Scenarios) == 0 {
		add(0, "no scenarios: declare at least one under `scenarios:`", "$.scenarios", "$")
	}
	d := p.Defaults
	if d == nil {
		d = &Scenario{}
	}
	if d.Name != "" {
		add(0, "defaults cannot set name: names belong to scenarios", "$.defaults.name")
	}
	seen := map[string]int{}
	for i, s := range p.Scenarios {
		at := ScenarioPath(i)
		if s == nil {
			add(0, "empty scenario: give it at least a name and a load", at)
			continue
		}
		s.index = i
		s.merge(d)
		if strings.TrimSpace(s.Name) == "" {
			add(0, "scenario has no name", at+".name", at)
		} else if j, dup := seen[s.Name]; dup {
			add(0, fmt.Sprintf("duplicate scenario name %q (first used by scenario %d)", s.Name, j+1), at+".name")
		} else {
			seen[s.Name] = i
		}
		if s.Server == "" && len(p.Servers) == 1 {
			s.Server = names[0]
		}
		switch {
		case s.Server == "":
			add(0, "scenario has no server: set `server:` here or in defaults", at)
		case p.Servers[s.Server] == nil && len(p.Servers) > 0:
			msg := fmt.Sprintf("unknown server %q", s.Server)
			if sg := suggest(s.Server, names); sg != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", sg)
			} else {
				msg += fmt.Sprintf(" (servers: %s)", strings.Join(names, ", "))
			}
			add(0, msg, at+".server", "$.defaults.server")
		}
		if s.API == "" {
			s.API = "chat"
		}
		if s.API != "chat" && s.API != "completions" {
			add(0, fmt.Sprintf("unknown api %q: use chat or completions", s.API), at+".api", "$.defaults.api")
		}
		p.checkLoad(s, &es)
		p.checkData(s, &es)
		p.checkLimits(s, &es)
	}
	return es
}

func (s *Scenario) merge(d *Scenario) {
	if s.Server == "" {
		s.Server = d.Server
	}
	if s.Model == "" {
		s.Model = d.Model
	}
	if s.API == "" {
		s.API = d.API
	}
	if s.Load == nil && d.Load != nil {
		l := *d.Load
		s.Load = &l
	}
	if s.Data == nil && d.Data != nil {
		dd := *d.Data
		s.Data = &dd
	}
	if d.Limits != nil {
		if s.Limits == nil {
			s.Limits = &Limits{}
		}
		if s.Limits.MaxDuration == nil {
			s.Limits.MaxDuration = d.Limits.MaxDuration
		}
		if s.Limits.MaxRequests == nil {
			s.Limits.MaxRequests = d.Limits.MaxRequests
		}
	}
	if len(d.Assert) > 0 {
		s.Assert = append(slices.Clone(d.Assert), s.Assert...)
	}
}

func (p *Plan) checkLoad(s *Scenario, es *Errors) {
	at := ScenarioPath(s.index)
	add := func(msg string, paths ...string) { *es = append(*es, p.ErrorAt(0, msg, paths...)) }
	if s.Load == nil {
		add("scenario has no load: set `load: { type: constant, rate: 2 }` or another type", at)
		return
	}
	la := []string{at + ".load", "$.defaults.load"}
	with := func(suffix string) []string { return []string{la[0] + suffix, la[1] + suffix, la[0], la[1]} }
	switch s.Load.Type {
	case Synchronous:
		if len(s.Load.Rate) > 0 {
			add("a synchronous load takes no rate: it sends the next request when the previous one ends", with(".rate")...)
		}
	case Constant:
		if len(s.Load.Rate) == 0 {
			if p.node(la[0]+".rate") != nil || p.node(la[1]+".rate") != nil {
				add("empty rate list: give at least one rate", with(".rate")...)
			} else {
				add("a constant load needs a rate in requests per second, e.g. `rate: 2.5`", with("")...)
			}
		}
		for i, r := range s.Load.Rate {
			if !(r > 0) {
				add(fmt.Sprintf("rate must be positive, got %g", r), la[0]+fmt.Sprintf(".rate[%d]", i), la[0]+".rate", la[1]+".rate")
			}
		}
	case "":
		add("load has no type: use one of "+strings.Join(LoadTypes, ", "), with("")...)
	default:
		msg := fmt.Sprintf("unknown load type %q: use one of %s", s.Load.Type, strings.Join(LoadTypes, ", "))
		if sg := suggest(s.Load.Type, LoadTypes); sg != "" {
			msg = fmt.Sprintf("unknown load type %q (did you mean %q?)", s.Load.Type, sg)
		}
		add(msg, with(".type")...)
	}
}

func (p *Plan) checkData(s *Scenario, es *Errors) {
	at := ScenarioPath(s.index)
	add := func(msg string, paths ...string) { *es = append(*es, p.ErrorAt(0, msg, paths...)) }
	if s.Data == nil || s.Data.Emulated == nil {
		add("scenario has no data: set `data: { emulated: { prompt_tokens: 512, output_tokens: 128 } }`", at+".data", at)
		return
	}
	e := s.Data.Emulated
	ea := []string{at + ".data.emulated", "$.defaults.data.emulated"}
	if e.PromptTokens < 1 {
		add(fmt.Sprintf("prompt_tokens must be at least 1, got %d", e.PromptTokens), ea[0]+".prompt_tokens", ea[1]+".prompt_tokens", ea[0], ea[1])
	}
	if e.OutputTokens < 1 {
		add(fmt.Sprintf("output_tokens must be at least 1, got %d", e.OutputTokens), ea[0]+".output_tokens", ea[1]+".output_tokens", ea[0], ea[1])
	}
}

func (p *Plan) checkLimits(s *Scenario, es *Errors) {
	at := ScenarioPath(s.index)
	add := func(msg string, paths ...string) { *es = append(*es, p.ErrorAt(0, msg, paths...)) }
	l := s.Limits
	if l == nil || (l.MaxDuration == nil && l.MaxRequests == nil) {
		add("scenario has no limits: set `limits: { max_requests: N }` or `max_duration`, here or in defaults", at)
		return
	}
	if l.MaxRequests != nil && *l.MaxRequests < 1 {
		add(fmt.Sprintf("max_requests must be at least 1, got %d", *l.MaxRequests), at+".limits.max_requests", "$.defaults.limits.max_requests")
	}
	if l.MaxDuration != nil && l.MaxDuration.D() <= 0 {
		add("max_duration must be positive", at+".limits.max_duration", "$.defaults.limits.max_duration")
	}
}

// fieldNames lists every field name of the plan format, for suggestions.
func fieldNames() []string {
	var out []string
	seen := map[reflect.Type]bool{}
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || seen[t] {
			return
		}
		seen[t] = true
		for i := range t.NumField() {
			f := t.Field(i)
			tag := strings.Split(f.Tag.Get("yaml"), ",")[0]
			if tag == "" || tag == "-" {
				continue
			}
			out = append(out, tag)
			walk(f.Type)
		}
	}
	walk(reflect.TypeFor[Plan]())
	return out
}

// suggest returns the candidate closest to s, if it is close enough to be a typo.
func suggest(s string, candidates []string) string {
	best, bestD := "", 1<<30
	for _, c := range candidates {
		if d := levenshtein(s, c); d < bestD {
			best, bestD = c, d
		}
	}
	if bestD <= max(1, min(len(s), len(best))/3) {
		return best
	}
	return ""
}

func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
