package plan

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"

	"github.com/benchplan/benchplan/internal/regular"
	"github.com/benchplan/benchplan/internal/secret"
)

// Options change how a plan is read.
type Options struct {
	// Env looks up ${VAR}; nil means no variable is set.
	Env Lookup
	// Sets are --set PATH=VALUE overrides, applied in order.
	Sets []string
	// ServersFile replaces the plan's servers with those of this file
	// (--servers); when it declares one server, every scenario uses it.
	ServersFile string
	// Simulate replaces every server with the built-in simulator.
	Simulate bool
	// CapRequests and CapDuration, when set, lower every step's
	// max_requests and max_duration to at most these (--max-requests,
	// --max-duration): short smoke runs of long plans.
	CapRequests int
	CapDuration time.Duration
	// Repeat, when positive, runs every step that many times (--repeat),
	// replacing the scenarios' own repeat.
	Repeat int
	// Assertions, when set, checks the scenarios' assertions once the plan
	// is decoded and its defaults merged; its mistakes are reported with
	// the plan's other mistakes, all at once. (The plan package cannot
	// compile expressions itself: the assert package does.)
	Assertions func(*Plan) Errors
	// DataFile, when set, reads a scenario's data file (its path resolved
	// against the plan's directory; chat is true when the scenario uses
	// the chat API) and returns its first mistake, naming the file's
	// line: the plan reports it at the scenario's data.file.path with its
	// other mistakes, before any server starts. (The plan package cannot
	// read data files itself: the dataset package does.) The file is
	// already known to exist, to be a regular file and to be within
	// MaxDataFileBytes.
	DataFile func(path string, f *File, chat bool) error
	// TraceFile, when set, reads a trace load's file (its path resolved
	// against the plan's directory) as DataFile reads data files.
	TraceFile func(path string, t *Trace) error
}

// Read loads the plan file at path: environment interpolation, --set
// overrides, strict decoding, defaults merged into scenarios, semantic
// checks. Every mistake comes back at once as Errors, each with file, line,
// column and the source line.
func Read(path string, opts Options) (*Plan, error) {
	src, err := readBounded(path, "plan")
	if err != nil {
		return nil, err
	}
	return Parse(path, src, opts)
}

// readBounded reads a plan or servers file: a regular file (never a
// directory, a named pipe or a device) of at most MaxPlanBytes, refused
// before it is read when larger.
func readBounded(path, what string) ([]byte, error) {
	src, err := regular.ReadFile(path, MaxPlanBytes)
	if errors.Is(err, regular.ErrTooLarge) {
		return nil, Errors{{File: path, Line: 1, Column: 1, Message: fmt.Sprintf("the %s file is larger than the limit of %s: one needs a few kilobytes", what, regular.Size(MaxPlanBytes))}}
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", what, err)
	}
	return src, nil
}

// Parse loads a plan from its text; file names it in errors and anchors
// relative data paths.
func Parse(file string, src []byte, opts Options) (*Plan, error) {
	p := &Plan{File: file, Source: src, dataFile: opts.DataFile, traceFile: opts.TraceFile}
	if len(src) > MaxPlanBytes {
		return nil, Errors{{File: file, Line: 1, Column: 1, Message: fmt.Sprintf("the plan is %s; the limit is %s: a plan needs a few kilobytes", regular.Size(int64(len(src))), regular.Size(MaxPlanBytes))}}
	}
	var structural Errors
	if err := p.decode(&p.ast, src, opts, reflect.TypeFor[Plan](), p); err != nil {
		var pe *partialError
		if !errors.As(err, &pe) {
			if es, ok := err.(Errors); ok {
				return nil, p.redact(es)
			}
			return nil, err
		}
		// The document decoded despite its mistakes (unknown fields, a
		// bad --set): check the rest too, so every mistake shows at once.
		structural = pe.es
	}
	if opts.ServersFile != "" {
		sf, err := ReadServers(opts.ServersFile, opts)
		var ses Errors
		switch {
		case errors.As(err, &ses):
			// Reported with the plan's own mistakes (each names its file);
			// the plan is checked with its own servers meanwhile.
			structural = append(structural, ses...)
		case err != nil:
			return nil, err
		default:
			p.replaceServers(sf.Servers)
			p.Secrets = append(p.Secrets, sf.Secrets...)
		}
	}
	// A URL's password is a secret wherever it was written.
	for _, s := range p.Servers {
		if s != nil {
			if pw := secret.URLPassword(s.URL); pw != "" {
				p.Secrets = append(p.Secrets, pw)
			}
		}
	}
	p.Secrets = unique(p.Secrets)
	semantic := p.check()
	if opts.Assertions != nil {
		semantic = append(semantic, opts.Assertions(p)...)
	}
	es := append(structural, p.consequences(semantic, structural)...)
	if len(es) > 0 {
		// A mistake never shows a secret: the plan's own are hidden here;
		// a servers file's were hidden where it was read.
		return nil, p.redact(es.sorted())
	}
	if opts.Simulate {
		p.simulate()
	}
	p.cap(opts.CapRequests, opts.CapDuration)
	if opts.Repeat > 0 {
		for _, sc := range p.Scenarios {
			n := opts.Repeat
			sc.Repeat = &n
		}
	}
	return p, nil
}

// decode parses src into v (a pointer to t), applying sets and env, and
// checking structure first so that every mistake is reported at once.
func (p *Plan) decode(dst **ast.File, src []byte, opts Options, t reflect.Type, v any) error {
	// A UTF-8 byte order mark (some Windows editors write one) is not text.
	src = bytes.TrimPrefix(src, []byte("\xef\xbb\xbf"))
	// Positions are counted in LF lines: CRLF and lone CR files read the same.
	src = []byte(strings.Join(splitLines(string(src)), "\n"))
	p.Source, p.lines = src, nil
	// The YAML library's memory grows faster than the text: bounds are
	// checked on the text first, then on the parsed document.
	if si := prescan(src); si != nil {
		e := &Error{File: p.File, Line: si.line, Column: si.col, Message: si.msg, SourceLine: p.line(si.line)}
		e.clampColumn()
		return Errors{e}
	}
	f, err := parseYAML(src)
	if err != nil {
		return Errors{p.fromYAML(err)}
	}
	*dst = f
	if len(f.Docs) == 0 || f.Docs[0].Body == nil {
		return Errors{{File: p.File, Line: 1, Column: 1, Message: "the file is empty: a plan starts with `version: 1`"}}
	}
	if len(f.Docs) > 1 {
		e := p.errAtNode(f.Docs[1].Body, "a plan file holds one YAML document; remove the second `---`")
		if f.Docs[1].Start != nil {
			e = p.errAtToken(f.Docs[1].Start, e.Message)
		}
		return Errors{e}
	}
	var es Errors
	for _, s := range opts.Sets {
		if err := p.applySet(s); err != nil {
			es = append(es, &Error{File: p.File, Message: strings.TrimPrefix(err.Error(), "--set "+s+": "), Set: s})
		}
	}
	if e := p.expansionErr(f.Docs[0].Body); e != nil {
		return append(es, e).sorted()
	}
	env := opts.Env
	if env == nil {
		env = func(string) (string, bool) { return "", false }
	}
	es = append(es, p.interpolate(env)...)
	es = append(es, p.structure(f.Docs[0].Body, t)...)
	if len(es) > 0 {
		es = es.sorted()
		// What still decodes (unknown fields aside) is checked further
		// by the caller, so that later mistakes are not hidden.
		if nodeToValue(f.Docs[0].Body, v, false) == nil {
			return &partialError{es}
		}
		return es
	}
	if err := nodeToValue(f.Docs[0].Body, v, true); err != nil {
		return Errors{p.fromYAML(err)}
	}
	return nil
}

// parseYAML parses text the prescan passed; a panic inside the YAML
// library becomes an error rather than a crash.
func parseYAML(src []byte) (f *ast.File, err error) {
	defer func() {
		if r := recover(); r != nil {
			f, err = nil, fmt.Errorf("the YAML parser failed on this document (%v): simplify the YAML", r)
		}
	}()
	return parser.ParseBytes(src, 0)
}

// partialError is a document's mistakes when the document decoded all the
// same, leniently: the semantic checks can still run on it.
type partialError struct{ es Errors }

func (e *partialError) Error() string { return e.es.Error() }

// Unwrap gives the mistakes to errors.As.
func (e *partialError) Unwrap() error { return e.es }

// nodeToValue decodes a checked document; a panic inside the YAML library
// becomes an error rather than a crash.
// Not strict, unknown fields are skipped.
func nodeToValue(n ast.Node, v any, strict bool) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("the YAML decoder failed on this document (%v): simplify the YAML around here", r)
		}
	}()
	if !strict {
		return yaml.NodeToValue(n, v)
	}
	return yaml.NodeToValue(n, v, yaml.Strict())
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
	if arg, ok := p.sets[tok]; ok {
		return &Error{File: p.File, Message: msg, Set: arg}
	}
	e := &Error{File: p.File, Line: 1, Column: 1, Message: msg}
	if tok != nil && tok.Position != nil {
		e.Line, e.Column = tok.Position.Line, tok.Position.Column
	}
	e.SourceLine = p.line(e.Line)
	e.clampColumn()
	return e
}

// errAtOffset makes an Error at byte offset off of value, the text of the
// scalar whose token is tok, shown at the source character it was read from
// (past quotes, escapes, block indicators and folded lines). Where the
// source does not read as value, the column is counted from the token.
func (p *Plan) errAtOffset(tok *token.Token, value string, off int, msg string) *Error {
	e := p.errAtToken(tok, msg)
	if e.Set != "" {
		return e
	}
	if off > 0 || tok != nil && (tok.Type == token.DoubleQuoteType || tok.Type == token.SingleQuoteType) {
		if line, col, ok := p.sourcePos(tok, value, off); ok {
			e.Line, e.Column, e.SourceLine = line, col, p.line(line)
			e.clampColumn()
			return e
		}
		if tok != nil && (tok.Type == token.DoubleQuoteType || tok.Type == token.SingleQuoteType) {
			e.Column++
		}
		if off <= len(value) {
			e.Column += utf8.RuneCountInString(value[:off])
		}
	}
	e.clampColumn()
	return e
}

// clampColumn keeps the caret on the line or just after its end (where an
// empty value is missing).
func (e *Error) clampColumn() {
	if n := utf8.RuneCountInString(e.SourceLine) + 1; e.Column > n {
		e.Column = n
	}
	if e.Column < 1 {
		e.Column = 1
	}
}

func (p *Plan) line(n int) string {
	lines := p.sourceLines()
	if n < 1 || n > len(lines) {
		return ""
	}
	return lines[n-1]
}

// sourceLines is the plan's text split into lines, once.
func (p *Plan) sourceLines() []string {
	if p.lines == nil {
		p.lines = splitLines(string(p.Source))
	}
	return p.lines
}

// splitLines splits text at LF, CRLF or a lone CR, as YAML counts lines.
func splitLines(s string) []string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	return strings.Split(s, "\n")
}

// node finds the node at a path such as $.scenarios[1].load.type; a key
// with dots or brackets is quoted: $.servers.'my.server'.url (see Key).
func (p *Plan) node(path string) ast.Node {
	if p.ast == nil || len(p.ast.Docs) == 0 {
		return nil
	}
	segs, ok := parsePath(path)
	if !ok {
		return nil
	}
	n := p.ast.Docs[0].Body
	for _, seg := range segs {
		n = unwrap(n)
		switch v := n.(type) {
		case *ast.MappingNode:
			n = nil
			for _, mv := range v.Values {
				if k, isKey := seg.(string); isKey && scalarText(mv.Key) == k {
					n = mv.Value
					break
				}
			}
		case *ast.MappingValueNode:
			n = nil
			if k, isKey := seg.(string); isKey && scalarText(v.Key) == k {
				n = v.Value
			}
		case *ast.SequenceNode:
			i, isIndex := seg.(int)
			if !isIndex || i < 0 || i >= len(v.Values) {
				return nil
			}
			n = v.Values[i]
		default:
			return nil
		}
		if n == nil || reflect.ValueOf(n).IsNil() {
			return nil
		}
	}
	return unwrap(n)
}

func unwrap(n ast.Node) ast.Node {
	for {
		switch v := n.(type) {
		case *ast.AnchorNode:
			n = v.Value
		case *ast.TagNode:
			n = v.Value
		default:
			return n
		}
	}
}

// Key quotes a map key for a path when it holds dots, brackets or quotes.
func Key(k string) string {
	if k != "" && !strings.ContainsAny(k, ".[]'") {
		return k
	}
	return "'" + strings.ReplaceAll(k, "'", "''") + "'"
}

// parsePath splits $.a.'b.c'[2].d into "a", "b.c", 2, "d".
func parsePath(path string) ([]any, bool) {
	path, ok := strings.CutPrefix(path, "$")
	if !ok {
		return nil, false
	}
	var segs []any
	for i := 0; i < len(path); {
		switch path[i] {
		case '.':
			i++
			if i < len(path) && path[i] == '\'' {
				var b strings.Builder
				i++
				for {
					if i >= len(path) {
						return nil, false
					}
					if path[i] == '\'' {
						if i+1 < len(path) && path[i+1] == '\'' {
							b.WriteByte('\'')
							i += 2
							continue
						}
						i++
						break
					}
					b.WriteByte(path[i])
					i++
				}
				segs = append(segs, b.String())
				continue
			}
			j := i
			for j < len(path) && path[j] != '.' && path[j] != '[' {
				j++
			}
			segs = append(segs, path[i:j])
			i = j
		case '[':
			j := strings.IndexByte(path[i:], ']')
			if j < 0 {
				return nil, false
			}
			n, err := strconv.Atoi(path[i+1 : i+j])
			if err != nil {
				return nil, false
			}
			segs = append(segs, n)
			i += j + 1
		default:
			return nil, false
		}
	}
	return segs, true
}

// ErrorAt makes a positioned Error at the first of paths that exists in the
// file (YAML paths like $.scenarios[0].assert[1]); offset is a byte offset
// into the scalar's value, shown at the source character it was read from
// (past quotes, escapes, block indicators and folded lines).
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
		return p.errAtOffset(n.GetToken(), scalarText(n), offset, msg)
	}
	return &Error{File: p.File, Line: 1, Column: 1, Message: msg, SourceLine: p.line(1)}
}

// Position is where the node at path (as for ErrorAt) is written in the
// file: 1-based line and column; ok is false when the path is not in the
// file or its value came from a --set argument.
func (p *Plan) Position(path string) (line, col int, ok bool) {
	if p.node(path) == nil {
		return 0, 0, false
	}
	e := p.ErrorAt(0, "", path)
	if e.Set != "" {
		return 0, 0, false
	}
	return e.Line, e.Column, true
}

// ScenarioPath is the YAML path of scenario i, for ErrorAt.
func ScenarioPath(i int) string { return fmt.Sprintf("$.scenarios[%d]", i) }

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
		if d := EditDistance(s, c); d < bestD {
			best, bestD = c, d
		}
	}
	if bestD <= max(1, min(len(s), len(best))/3) {
		return best
	}
	return ""
}

// EditDistance is the edit distance between a and b in characters, where
// swapping two neighbouring ones ("modle" for "model", "tfft" for "ttft")
// is one edit, as an insertion, a deletion or a substitution is (optimal
// string alignment). Suggestions ("did you mean") are drawn by it.
func EditDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}

// cap lowers every scenario's limits to the caps. A duration warmup or
// cooldown that no longer fits is dropped rather than measuring nothing:
// under a requests cap always, under a duration cap when it would take
// half the step.
func (p *Plan) cap(requests int, d time.Duration) {
	for _, s := range p.Scenarios {
		l := s.Limits
		if requests > 0 && (l.MaxRequests == nil || *l.MaxRequests > requests) {
			n := requests
			l.MaxRequests = &n
			// A few requests would all fall in a warmup of seconds: a
			// fraction (of the step) stays, a duration goes.
			if l.Warmup != nil && l.Warmup.Duration > 0 {
				l.Warmup = nil
			}
			if l.Cooldown != nil && l.Cooldown.Duration > 0 {
				l.Cooldown = nil
			}
		}
		if d > 0 && (l.MaxDuration == nil || l.MaxDuration.D() > d) {
			dd := Duration(d)
			l.MaxDuration = &dd
			if l.Warmup != nil && l.Warmup.Duration+l.Cooldown.Of(0) >= d/2 {
				l.Warmup = nil
			}
			if l.Cooldown != nil && l.Cooldown.Duration >= d/2 {
				l.Cooldown = nil
			}
		}
	}
}

// mergeFields copies every nil pointer or empty field of dst from src.
func mergeFields(dst, src any) {
	dv := reflect.ValueOf(dst).Elem()
	sv := reflect.ValueOf(src).Elem()
	for i := range dv.NumField() {
		if dv.Field(i).CanSet() && dv.Field(i).IsZero() {
			dv.Field(i).Set(sv.Field(i))
		}
	}
}

// unique drops repeated strings, keeping the first of each.
func unique(ss []string) []string {
	seen := map[string]bool{}
	out := ss[:0]
	for _, s := range ss {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// consequences drops the semantic mistakes that follow from structural
// ones: "a constant load needs a rate" at a mapping that holds an unknown
// field "rat" says the same thing twice. A semantic mistake reported at the
// start of a mapping goes when a structural one lies inside that mapping;
// it comes back, if it still holds, once the structure is fixed.
func (p *Plan) consequences(semantic, structural Errors) Errors {
	if len(structural) == 0 || p.ast == nil || len(p.ast.Docs) == 0 {
		return semantic
	}
	type pos struct{ line, col int }
	less := func(a, b pos) bool { return a.line < b.line || a.line == b.line && a.col < b.col }
	spans := map[pos]pos{} // a mapping's start -> its last token
	var visit func(n ast.Node) pos
	visit = func(n ast.Node) pos {
		var last pos
		if n == nil {
			return last
		}
		if tok := n.GetToken(); tok != nil && tok.Position != nil {
			last = pos{tok.Position.Line, tok.Position.Column}
		}
		grow := func(c ast.Node) {
			if e := visit(c); less(last, e) {
				last = e
			}
		}
		switch v := n.(type) {
		case *ast.MappingNode:
			for _, mv := range v.Values {
				grow(mv)
			}
			if len(v.Values) > 0 {
				if tok := v.Values[0].Key.GetToken(); tok != nil && tok.Position != nil {
					spans[pos{tok.Position.Line, tok.Position.Column}] = last
				}
			}
		case *ast.MappingValueNode:
			grow(v.Key)
			grow(v.Value)
		case *ast.SequenceNode:
			for _, it := range v.Values {
				grow(it)
			}
		case *ast.AnchorNode:
			grow(v.Value)
		case *ast.TagNode:
			grow(v.Value)
		}
		return last
	}
	visit(p.ast.Docs[0].Body)
	// The document's own mapping holds everything: a mistake anywhere
	// would hide "missing name" and the like.
	if m, ok := p.ast.Docs[0].Body.(*ast.MappingNode); ok && len(m.Values) > 0 {
		if tok := m.Values[0].Key.GetToken(); tok != nil && tok.Position != nil {
			delete(spans, pos{tok.Position.Line, tok.Position.Column})
		}
	}
	// A value whose ${VAR} was not set would only be found wrong again.
	unexpanded := map[pos]bool{}
	for tok := range p.unexpanded {
		if tok.Position != nil {
			unexpanded[pos{tok.Position.Line, tok.Position.Column}] = true
			unexpanded[pos{tok.Position.Line, tok.Position.Column + 1}] = true // after a quote
		}
	}
	out := semantic[:0]
	for _, e := range semantic {
		start := pos{e.Line, e.Column}
		if unexpanded[start] {
			continue
		}
		end, ok := spans[start]
		drop := false
		for _, s := range structural {
			sp := pos{s.Line, s.Column}
			if ok && s.Set == "" && !less(sp, start) && !less(end, sp) {
				drop = true
				break
			}
		}
		if !drop {
			out = append(out, e)
		}
	}
	return out
}
