package assert

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/expr-lang/expr/ast"

	"github.com/benchplan/benchplan/results"
)

// Group selectors read a figure over one group of a step's requests
// (results.Group): model["sql-lora"].ttft.p95, turn[4].ttft.p95,
// window[2].requests.rate. The compiler rewrites each distinct selector of
// an assertion into one of maxSelectors hidden roots of the namespace
// (__g0 … __g7, each a whole step's names), so the rest of the evaluator
// (intervals, corners, no-data reasons) treats a group's figure as it
// treats the step's; reports show the selector as it was written.

// maxSelectors is the most distinct groups one assertion may read.
const maxSelectors = 8

// slotPrefix starts the hidden roots' names.
const slotPrefix = "__g"

// groupTags are the selectors' names: results.ByModel, ByTurn, ByWindow.
var groupTags = map[string]bool{results.ByModel: true, results.ByTurn: true, results.ByWindow: true}

// selector is one group an assertion reads.
type selector struct{ by, key string }

// label is the selector as reports show it: model["x"], turn[4].
func (s selector) label() string {
	g := results.Group{By: s.by, Key: s.key}
	return g.Label()
}

// slotName is the hidden root of slot i.
func slotName(i int) string { return slotPrefix + strconv.Itoa(i) }

// selectors rewrites group selectors into hidden roots (an ast.Visitor).
// Walking the same source twice gives the same slots.
type selectors struct {
	list []selector
	// at is where each selector is first written (a rune offset into the
	// rewritten text).
	at []int
	// err is the first misuse found, at its node.
	err    string
	errPos int
}

// Visit implements ast.Visitor.
func (v *selectors) Visit(node *ast.Node) {
	m, ok := (*node).(*ast.MemberNode)
	if !ok {
		return
	}
	id, ok := m.Node.(*ast.IdentifierNode)
	if !ok || !groupTags[id.Value] {
		return
	}
	fail := func(msg string) {
		if v.err == "" {
			v.err, v.errPos = msg, nodeStart(m)
		}
	}
	var key string
	switch p := m.Property.(type) {
	case *ast.IntegerNode:
		if id.Value == results.ByModel {
			fail(`model takes the model's name in quotes: model["sql-lora"].ttft.p95`)
			return
		}
		if p.Value < 1 {
			fail(fmt.Sprintf("%ss count from 1: %s[1] is the first", id.Value, id.Value))
			return
		}
		key = strconv.Itoa(p.Value)
	case *ast.StringNode:
		if id.Value != results.ByModel {
			fail(fmt.Sprintf("%s takes a %s number without quotes: %s[2].ttft.p95", id.Value, id.Value, id.Value))
			return
		}
		key = p.Value
	default:
		what := "number"
		if id.Value == results.ByModel {
			what = "name in quotes"
		}
		fail(fmt.Sprintf("%s[...] takes a %s, not an expression", id.Value, what))
		return
	}
	sel := selector{by: id.Value, key: key}
	slot := -1
	for i, s := range v.list {
		if s == sel {
			slot = i
		}
	}
	if slot < 0 {
		if len(v.list) == maxSelectors {
			fail(fmt.Sprintf("an assertion may read at most %d groups", maxSelectors))
			return
		}
		slot = len(v.list)
		v.list = append(v.list, sel)
		v.at = append(v.at, nodeStart(m))
	}
	repl := &ast.IdentifierNode{Value: slotName(slot)}
	repl.SetLocation(m.Location())
	*node = repl
}

// shown rewrites hidden roots in text back to the selectors as written.
func (v *selectors) shown(text string) string {
	if v == nil || len(v.list) == 0 || !strings.Contains(text, slotPrefix) {
		return text
	}
	// Highest slots first, so that __g1 does not eat the start of __g10.
	for i := len(v.list) - 1; i >= 0; i-- {
		text = strings.ReplaceAll(text, slotName(i), v.list[i].label())
	}
	return text
}

// slotOf splits a path under a hidden root into its slot and the path in
// the group; ok is false for a path of the step itself.
func slotOf(path string) (slot int, rest string, ok bool) {
	head, rest, found := strings.Cut(path, ".")
	if !found || !strings.HasPrefix(head, slotPrefix) {
		return 0, "", false
	}
	n, err := strconv.Atoi(head[len(slotPrefix):])
	if err != nil {
		return 0, "", false
	}
	return n, rest, true
}

// groupStep is the step of one group: the group's figures, the step's
// identity; no telemetry, requests or groups of its own.
func groupStep(s *results.Step, g *results.Group) *results.Step {
	return &results.Step{Index: s.Index, Load: s.Load, TargetRatePerSec: s.TargetRatePerSec, Streams: s.Streams,
		Metrics: g.Metrics}
}

// target resolves path to the step and path it reads: the group's, for a
// path under a hidden root. why says, when the group has no requests in
// s, why there is no data.
func (a *Assertion) target(path string, s *results.Step) (*results.Step, string, string) {
	slot, rest, ok := slotOf(path)
	if !ok || a.groups == nil || slot >= len(a.groups.list) {
		return s, path, ""
	}
	sel := a.groups.list[slot]
	g := s.Metrics.Group(sel.by, sel.key)
	if g == nil {
		return nil, rest, a.noGroup(sel, s)
	}
	return groupStep(s, g), rest, ""
}

// noGroup says why a selector has no data in step s.
func (a *Assertion) noGroup(sel selector, s *results.Step) string {
	var keys []string
	for _, g := range s.Metrics.GroupsBy(sel.by) {
		keys = append(keys, g.Label())
	}
	switch {
	case len(keys) > 0:
		return fmt.Sprintf("no requests of %s in this step (it has %s)", sel.label(), strings.Join(keys, ", "))
	case sel.by == results.ByModel:
		return fmt.Sprintf("no requests of %s in this step: per-model figures are made when a scenario's requests name more than one model (models:)", sel.label())
	case sel.by == results.ByTurn:
		return fmt.Sprintf("no requests of %s in this step: per-turn figures are made for multi-turn sessions (data.sessions)", sel.label())
	}
	return fmt.Sprintf("no requests of %s in this step: per-window figures are made for ramped loads (load.type: ramp)", sel.label())
}

// groupNoData is noData for a path that may read a group.
func (a *Assertion) groupNoData(path string, s, base *results.Step) string {
	gs, rest, why := a.target(path, s)
	if why != "" {
		return why
	}
	if gs == s {
		return noData(path, s, base)
	}
	if strings.HasPrefix(rest, "server.") || strings.HasPrefix(rest, "gpu.") {
		return "telemetry is sampled for the whole step, not per group"
	}
	return noData(rest, gs, nil)
}

// fillGroups sets the hidden roots of e from step s.
func (a *Assertion) fillGroups(e *env, s *results.Step) {
	for i, sel := range a.groups.list {
		if g := s.Metrics.Group(sel.by, sel.key); g != nil {
			*e.slot(i) = newMetrics(groupStep(s, g))
		}
	}
}

// slot returns hidden root i of e.
func (e *env) slot(i int) *stepMetrics {
	return [...]*stepMetrics{&e.G0, &e.G1, &e.G2, &e.G3, &e.G4, &e.G5, &e.G6, &e.G7}[i]
}

// Scenario is what a scenario says of the groups its steps will have, for
// checking an assertion's selectors before anything runs.
type Scenario struct {
	// Models are the names of its models mix (empty: one model).
	Models []string
	// Sessions is true when it runs multi-turn sessions; MaxTurns is then
	// the most turns a session can have (0: no bound known).
	Sessions bool
	MaxTurns int
	// Windows is the number of windows of its ramp (0: not a ramp).
	Windows int
}

// CheckGroups reports a selector of the assertion that names a group the
// scenario can never have (a model outside its mix, per-model figures of a
// scenario with one model): the message and its column (0-based, in
// Source). ok is true when every selector can have data.
func (a *Assertion) CheckGroups(sc Scenario) (msg string, column int, ok bool) {
	if a.groups == nil {
		return "", 0, true
	}
	for i, sel := range a.groups.list {
		if sel.by == results.ByTurn {
			n, _ := strconv.Atoi(sel.key)
			switch {
			case !sc.Sessions:
				return fmt.Sprintf("%s reads per-turn figures, made for multi-turn sessions (data.sessions); this scenario has none", sel.label()),
					a.column(i), false
			case sc.MaxTurns > 0 && n > sc.MaxTurns:
				return fmt.Sprintf("%s: the scenario's sessions have at most %d turns", sel.label(), sc.MaxTurns), a.column(i), false
			}
			continue
		}
		if sel.by == results.ByWindow {
			n, _ := strconv.Atoi(sel.key)
			switch {
			case sc.Windows == 0:
				return fmt.Sprintf("%s reads per-window figures, made for a ramp (load.type: ramp); this scenario's load is not one", sel.label()),
					a.column(i), false
			case n > sc.Windows:
				return fmt.Sprintf("%s: the scenario's ramp has %d windows", sel.label(), sc.Windows), a.column(i), false
			}
			continue
		}
		if sel.by != results.ByModel {
			continue
		}
		if len(sc.Models) == 0 {
			return fmt.Sprintf("%s reads per-model figures, made when a scenario's requests name more than one model (models:); this scenario names one", sel.label()),
				a.column(i), false
		}
		if slices.Contains(sc.Models, sel.key) {
			continue
		}
		hint := ""
		if best := closest(sel.key, sc.Models); len(best) > 0 {
			hint = "; did you mean " + orList(best) + "?"
		}
		return fmt.Sprintf("unknown model %q: the scenario's models are %s%s", sel.key, quotedList(sc.Models), hint), a.column(i), false
	}
	return "", 0, true
}

// column is where selector i is written in Source.
func (a *Assertion) column(i int) int {
	if a.rw == nil || i >= len(a.groups.at) {
		return 0
	}
	return a.rw.origFromRune(a.groups.at[i])
}

// quotedList writes names quoted, comma-separated, the first 10.
func quotedList(names []string) string {
	var q []string
	for i, n := range names {
		if i == 10 {
			q = append(q, fmt.Sprintf("… (%d in all)", len(names)))
			break
		}
		q = append(q, strconv.Quote(n))
	}
	return strings.Join(q, ", ")
}
