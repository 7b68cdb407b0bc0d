// Package assert compiles and evaluates the gate expressions of a plan
// (`ttft.p95 < 200ms`, `errors.rate == 0`) against one step's results.
//
// Expressions are expr-lang (github.com/expr-lang/expr) over a namespace
// built from results.Step:
//
//	ttft, tpot, itl, latency, queue   count (int); mean, std, min, max, median,
//	                                   p50, p90, p95, p99, p999 (durations)
//	requests                          total, completed, errored, incomplete (int); rate (completed
//	                                   per s), sent_rate (offered per s)
//	errors                            count (int); rate (fraction 0..1)
//	tokens                            prompt.total, prompt.mean, prompt.rate (per s), output.total,
//	                                   output.mean, output.rate (per s), total.rate (per s)
//	inputs                            total (int), mean (per request), rate (per s): embeddings only
//	duration                          the measured window (a duration)
//	step                              index (int), rate (target per s), streams (int)
//	concurrency, goodput              mean, max; rate (per s), ratio (fraction)
//	server.*                          the server's /metrics, normalised (requests_running.max,
//	                                   kv_cache_usage.mean, preemptions, ...): docs/telemetry.md
//	gpu.*                             nvidia-smi: memory_used.max (bytes), utilization.mean,
//	                                   power.max (W), count, ...
//	baseline.NAME                     NAME at the same step of --baseline
//	model["x"].NAME, turn[N].NAME,    NAME over one group of the step's requests
//	window[N].NAME                     (results.Group; assert/groups.go)
//	KiB, MiB, GiB                     byte constants (int)
//
// Duration literals (200ms, 1.5s, 1h30m, 500us, 10ns) are rewritten to
// duration("…") before expr sees them, outside string literals and
// comments; error columns are mapped back to the text the user wrote. A
// duration compares only with a duration: `ttft.p95 < 200` is a compile
// error, not 200 nanoseconds. A duration may be scaled by a number
// (`ttft.p50 * 1.5`, `duration / 2`), and a duration divided by a duration
// is a plain number (`ttft.p99 / ttft.p50 < 3`).
//
// Compile at plan-validation time; Evaluate once per step. An assertion
// that reads a figure with no samples behind it (ttft.p95 of a step with no
// successful request) evaluates to results.Error, never to a pass.
package assert

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"regexp"
	"strings"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/vm"

	"github.com/benchplan/benchplan/results"
)

// Assertion is one compiled gate expression. It is safe for concurrent
// use by several goroutines evaluating different steps.
type Assertion struct {
	// Source is the expression as the user wrote it.
	Source string

	program *vm.Program
	// paths are the metric paths the expression reads, in source order.
	paths []string
	// wholes are distributions the expression uses as a whole (not
	// through a member); they count as read for the no-data check.
	wholes []string
	// cmp is set when the expression is a comparison with a metric path
	// on one side; it shapes Observed.
	cmp *comparison
	// scenario is set when the expression reads `steps` or `capacity`: it
	// is evaluated once per scenario, over all its steps.
	scenario      bool
	stepPaths     []string // metric paths read inside closures over steps (.ttft.p95)
	readsCapacity bool
	// exact are the paths compared with == or !=: facts about the run,
	// never varied over an interval.
	exact map[string]bool
	// groups are the group selectors the expression reads, by slot.
	groups *selectors
	// rw maps positions in the rewritten text back to Source.
	rw *rewritten
}

// Scenario reports whether the assertion is evaluated once per scenario
// (it reads `steps` or `capacity`) rather than at every step.
func (a *Assertion) Scenario() bool { return a.scenario }

// comparison describes `metric OP other`, normalised so the metric is on
// the left (200ms > ttft.p95 reads as ttft.p95 < 200ms).
type comparison struct {
	metric string
	op     string
	other  string   // the other side as the user wrote it
	paths  []string // metric paths read by the other side
}

// CompileError is a compile failure at a position in the user's text.
type CompileError struct {
	// Column is the 0-based byte offset into Source of the failure, mapped
	// back through the duration-literal rewrite.
	Column int
	// Message says what is wrong, with a hint where one is known
	// ("unknown name tfft; did you mean `ttft`?").
	Message string
	// Source is the expression as the user wrote it.
	Source string
}

// Error returns the message with the 1-based column and the source.
func (e *CompileError) Error() string {
	return fmt.Sprintf("%s (column %d of %q)", e.Message, e.Column+1, e.Source)
}

// plainTypes names the evaluator's own types as a plan's author knows them.
var plainTypes = strings.NewReplacer(
	"[]assert.stepMetrics", "steps (a list of steps)",
	"assert.stepMetrics", "a step",
	"assert.stepEnv", "step (its index and target)",
	"assert.scenarioEnv", "the scenario",
	"assert.env", "a step",
)

// goTypes are the Go type names a type error may show.
var goTypes = regexp.MustCompile(`\b(time\.Duration|float64|int64|int|bool)\b`)

// plainMessage rewords a compile error for a plan's author: no Go types.
func plainMessage(msg string) string {
	msg = plainTypes.Replace(msg)
	if strings.HasPrefix(msg, "cannot compare") || strings.HasPrefix(msg, "invalid operation") {
		msg = goTypes.ReplaceAllStringFunc(msg, func(t string) string {
			switch t {
			case "time.Duration":
				return "a duration"
			case "bool":
				return "true/false"
			}
			return "a number"
		})
		msg = strings.Replace(msg, " with string;", " with text;", 1)
	}
	return msg
}

// Names of the functions the compiler substitutes; users never write them.
const (
	fnDuration = "__duration"
	fnMul      = "__duration_mul"
	fnDiv      = "__duration_div"
)

// Compile type-checks src against the metric namespace of one step.
// Errors are *CompileError.
func Compile(src string) (*Assertion, error) {
	if strings.TrimSpace(src) == "" {
		return nil, &CompileError{Message: "empty assertion", Source: src}
	}
	rw, lerr := rewriteDurations(src)
	if lerr != nil {
		return nil, &CompileError{Column: lerr.offset, Message: lerr.msg, Source: src}
	}
	// An untyped tree of the rewritten text, for diagnostics and for
	// naming operands; positions are the same as in expr's own tree.
	tree, _ := parser.Parse(rw.src)
	var envValue any = env{}
	scenario := tree != nil && readsSteps(tree.Node)
	if scenario {
		envValue = scenarioEnv{}
	}
	// Group selectors (model["x"], turn[4]) become hidden roots, in this
	// tree and in expr's own (the same walk gives the same slots).
	groups := &selectors{}
	if tree != nil {
		ast.Walk(&tree.Node, groups)
		if groups.err != "" {
			return nil, &CompileError{Column: rw.origFromRune(groups.errPos), Message: groups.err, Source: src}
		}
		if scenario && len(groups.list) > 0 {
			return nil, &CompileError{Column: rw.origFromRune(0), Message: "group selectors such as " + groups.list[0].label() +
				" are read at each step: write them in an assertion of their own, not over steps or capacity", Source: src}
		}
	}
	program, err := expr.Compile(rw.src, append([]expr.Option{expr.Patch(&selectors{})}, compileOptions(envValue)...)...)
	if err != nil {
		ce := diagnose(rw, tree, err)
		if scenario {
			ce = diagnoseScenario(rw, tree.Node, ce)
		}
		ce.Message = groups.shown(plainMessage(ce.Message))
		return nil, ce
	}
	if err := checkTyped(rw, program.Node()); err != nil {
		var ce *CompileError
		if errors.As(err, &ce) {
			ce.Message = groups.shown(ce.Message)
		}
		return nil, err
	}
	a := &Assertion{Source: src, program: program, scenario: scenario, groups: groups, rw: &rw}
	if scenario {
		a.stepPaths = closurePaths(tree.Node)
		a.readsCapacity = readsIdent(tree.Node, "capacity")
		return a, nil
	}
	a.paths = metricPaths(tree.Node)
	a.exact = exactPaths(tree.Node)
	a.wholes = distributionRefs(tree.Node)
	a.cmp = comparisonOf(rw, tree.Node)
	return a, nil
}

func compileOptions(envValue any) []expr.Option {
	return []expr.Option{
		expr.Env(envValue),
		expr.AsBool(),
		expr.Function(fnDuration, durationFunc, new(func(string) time.Duration)),
		expr.Function(fnMul, mulFunc,
			new(func(time.Duration, int) time.Duration),
			new(func(time.Duration, float64) time.Duration),
			new(func(int, time.Duration) time.Duration),
			new(func(float64, time.Duration) time.Duration)),
		expr.Function(fnDiv, divFunc,
			new(func(time.Duration, int) time.Duration),
			new(func(time.Duration, float64) time.Duration),
			new(func(time.Duration, time.Duration) float64)),
		// The namespace's `duration` (the window) hides expr's builtin
		// duration(); calls to it go to our own parser instead.
		expr.Patch(durationCalls{}),
		// expr's unary minus takes numbers only: -200ms becomes 200ms * -1.
		expr.Patch(&negations{}),
		// expr types Duration*float as a Duration but computes a float64,
		// and rejects Duration/number; scaling goes through our functions.
		expr.Operator("*", fnMul),
		expr.Operator("/", fnDiv),
	}
}

// durationCalls points calls of duration(…) at fnDuration.
type durationCalls struct{}

// Visit implements ast.Visitor.
func (durationCalls) Visit(node *ast.Node) {
	call, ok := (*node).(*ast.CallNode)
	if !ok {
		return
	}
	id, ok := call.Callee.(*ast.IdentifierNode)
	if !ok || id.Value != "duration" {
		return
	}
	callee := &ast.IdentifierNode{Value: fnDuration}
	callee.SetLocation(id.Location())
	call.Callee = callee
}

// negations rewrites -d, for a duration d, into a call of fnMul(d, -1).
type negations struct{ applied bool }

// Visit implements ast.Visitor.
func (v *negations) Visit(node *ast.Node) {
	u, ok := (*node).(*ast.UnaryNode)
	if !ok || u.Operator != "-" || u.Node.Type() != durationType {
		return
	}
	minusOne := &ast.IntegerNode{Value: -1}
	minusOne.SetType(reflect.TypeOf(0))
	call := &ast.CallNode{Callee: &ast.IdentifierNode{Value: fnMul}, Arguments: []ast.Node{u.Node, minusOne}}
	call.SetType(durationType)
	call.SetLocation(u.Location())
	ast.Patch(node, call)
	v.applied = true
}

// Reset and ShouldRepeat make expr run the patch until types settle.
func (v *negations) Reset() { v.applied = false }

// ShouldRepeat reports whether the last walk changed the tree.
func (v *negations) ShouldRepeat() bool { return v.applied }

func durationFunc(params ...any) (any, error) {
	s, _ := params[0].(string)
	d, err := time.ParseDuration(s)
	if err != nil {
		return nil, fmt.Errorf("invalid duration %q", s)
	}
	return d, nil
}

func scale(d time.Duration, k any) (time.Duration, error) {
	switch k := k.(type) {
	case int:
		return d * time.Duration(k), nil
	case float64:
		return time.Duration(math.Round(float64(d) * k)), nil
	}
	return 0, fmt.Errorf("cannot scale a duration by %T", k)
}

func mulFunc(params ...any) (any, error) {
	if d, ok := params[0].(time.Duration); ok {
		return scale(d, params[1])
	}
	d, _ := params[1].(time.Duration)
	return scale(d, params[0])
}

func divFunc(params ...any) (any, error) {
	d, _ := params[0].(time.Duration)
	switch k := params[1].(type) {
	case time.Duration:
		if k == 0 {
			return nil, errors.New("division by a zero duration")
		}
		return float64(d) / float64(k), nil
	case int:
		if k == 0 {
			return nil, errors.New("division of a duration by zero")
		}
		return d / time.Duration(k), nil
	case float64:
		if k == 0 {
			return nil, errors.New("division of a duration by zero")
		}
		return time.Duration(math.Round(float64(d) / k)), nil
	}
	return nil, fmt.Errorf("cannot divide a duration by %T", params[1])
}

// Evaluate evaluates the assertion on one step's results and explains the
// outcome. A metric the expression reads that has no data in the step, or
// a failure while evaluating, gives results.Error.
func (a *Assertion) Evaluate(step *results.Step) results.Outcome {
	return a.EvaluateWithBaseline(step, nil)
}

// EvaluateWithBaseline evaluates the assertion on one step with `baseline.*`
// read from base, the baseline run's matching step (nil: none, and an
// assertion that reads baseline.* is an error).
func (a *Assertion) EvaluateWithBaseline(step, base *results.Step) results.Outcome {
	out := a.evaluate(step, base)
	out.Observed, out.Message = a.groups.shown(out.Observed), a.groups.shown(out.Message)
	return out
}

func (a *Assertion) evaluate(step, base *results.Step) results.Outcome {
	out := results.Outcome{Expr: a.Source}
	if a.scenario {
		out.Verdict, out.Message = results.Error, "this assertion reads steps or capacity: it is evaluated once per scenario"
		return out
	}
	if a.program == nil {
		out.Verdict, out.Message = results.Error, "assertion was not compiled"
		return out
	}
	if step == nil {
		out.Verdict, out.Message = results.Error, "no step to evaluate"
		return out
	}
	e := newEnv(step, base)
	a.fillGroups(&e, step)
	missing := map[string]string{}
	var reasons []string
	byReason := map[string][]string{}
	note := func(p, r string) {
		if _, seen := byReason[r]; !seen {
			reasons = append(reasons, r)
		}
		byReason[r] = append(byReason[r], p)
	}
	for _, p := range a.paths {
		if r := a.groupNoData(p, step, base); r != "" {
			missing[p] = r
			note(p, r)
		}
	}
	for _, g := range a.wholes {
		if r := noData(g+".p50", step, base); r != "" {
			note(g, r)
		}
	}
	conf := step.Metrics.Confidence
	if conf == 0 {
		conf = results.DefaultConfidence
	}
	var vs []varied
	if len(reasons) == 0 {
		vs = a.variedFigures(&e, step, base, conf)
	}
	out.Observed = a.observed(&e, missing, vs)
	if len(reasons) > 0 {
		msgs := make([]string, len(reasons))
		for i, r := range reasons {
			msgs[i] = "no data for " + strings.Join(byReason[r], ", ") + ": " + r
		}
		out.Verdict, out.Message = results.Error, strings.Join(msgs, "; ")
		return out
	}
	v, err := expr.Run(a.program, e)
	if err != nil {
		msg := err.Error()
		var fe *file.Error
		if errors.As(err, &fe) {
			msg = fe.Message
		}
		out.Verdict, out.Message = results.Error, "evaluation failed: "+msg
		return out
	}
	switch v {
	case true:
		out.Verdict = results.Pass
	case false:
		out.Verdict = results.Fail
	default:
		out.Verdict, out.Message = results.Error, fmt.Sprintf("evaluation gave %v, not true or false", v)
		return out
	}
	if len(vs) == 0 {
		return out
	}
	verdict, err := a.decide(e, vs, v == true)
	if err != nil {
		out.Verdict, out.Message = results.Error, "evaluation failed: "+err.Error()
		return out
	}
	out.Verdict = verdict
	if verdict == results.Inconclusive {
		out.Message = inconclusiveMessage(vs, v == true, conf)
	}
	return out
}

// inconclusiveMessage says why an assertion could not be decided and
// what would decide it.
func inconclusiveMessage(vs []varied, point bool, conf float64) string {
	var open []string
	for _, v := range vs {
		if v.open != "" {
			open = append(open, v.open)
		}
	}
	if len(open) > 0 {
		return strings.Join(open, "; ") + "; more requests (limits.max_requests) would decide it"
	}
	seen := "holds"
	if !point {
		seen = "fails"
	}
	return fmt.Sprintf("the %s interval straddles the bound (the observed value %s); more requests (limits.max_requests) narrow it", formatPercentage(conf), seen)
}

// observed names each metric operand with its value and interval.
func (a *Assertion) observed(e *env, missing map[string]string, vs []varied) string {
	byPath := map[string]varied{}
	for _, v := range vs {
		byPath[v.path] = v
	}
	val := func(p string) string {
		if _, ok := missing[p]; ok {
			return "no data"
		}
		s := formatValue(ns.names[p].value(e))
		if v, ok := byPath[p]; ok && v.paired == nil {
			s += " " + v.intervalText()
		}
		return s
	}
	var changes []string
	for _, v := range vs {
		if v.paired != nil {
			changes = append(changes, v.path+" "+v.paired.changeText()+" against the baseline")
		}
	}
	list := func(paths []string) string {
		parts := make([]string, len(paths))
		for i, p := range paths {
			parts[i] = p + " = " + val(p)
		}
		return strings.Join(parts, ", ")
	}
	suffix := ""
	if len(changes) > 0 {
		suffix = "; " + strings.Join(changes, ", ")
	}
	if c := a.cmp; c != nil {
		s := c.metric + " = " + val(c.metric) + ", required " + c.op + " " + c.other
		if len(c.paths) > 0 {
			s += " (" + list(c.paths) + ")"
		}
		return s + suffix
	}
	return list(a.paths) + suffix
}
