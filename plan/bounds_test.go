package plan

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"gotest.tools/v3/assert"
)

// allocated is the memory f allocates, in bytes (every allocation counted,
// whatever the collector freed since). It reads the process-wide count, so
// only tests that are not parallel call it: they run before any parallel one.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

const memBound = 64 << 20

// aliasBomb is a "billion laughs" in extra_body: 9 levels of 10 aliases
// each stand for 10^9 values in a file of a few hundred bytes.
func aliasBomb() string {
	var b strings.Builder
	b.WriteString(base + "  - name: a\n    load: { type: synchronous }\n    request:\n      extra_body:\n")
	b.WriteString("        l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 10; i++ {
		fmt.Fprintf(&b, "        l%d: &l%d [", i, i)
		for k := 0; k < 10; k++ {
			if k > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "*l%d", i-1)
		}
		b.WriteString("]\n")
	}
	return b.String()
}

func TestAliasBombIsRefusedInBoundedMemory(t *testing.T) {
	src := aliasBomb()
	var es Errors
	n := allocated(func() { _, es = parse(t, src, Options{}) })
	assert.Assert(t, n < memBound, "allocated %d MiB", n>>20)
	assert.Equal(t, len(es), 1, "%v", es)
	assert.Assert(t, strings.Contains(es[0].Message, "aliases expand the document to more than 100000 values"), es[0].Message)
	// At the alias that crosses the bound, in the file.
	assert.Equal(t, es[0].SourceLine[:10], "        l4", es[0].Error())
	assert.Assert(t, strings.HasPrefix(es[0].SourceLine[es[0].Column-1:], "*l3"), es[0].Error())

	// A few aliases, as plans use them, are fine.
	_, es = parse(t, base+"  - name: a\n    load: &l { type: synchronous }\n  - name: b\n    load: *l\n", Options{})
	assert.Assert(t, es == nil, es)
}

func TestDeepNestingIsRefusedBeforeParsing(t *testing.T) {
	deepBlock := func(d int) string {
		var b strings.Builder
		b.WriteString(base + "  - name: a\n    load: { type: synchronous }\n    request:\n      extra_body:\n")
		for i := 0; i < d; i++ {
			fmt.Fprintf(&b, "%sk:\n", strings.Repeat(" ", 8+i))
		}
		return b.String()
	}
	for name, tc := range map[string]struct {
		src       string
		line, col int
	}{
		// 40,000 levels in 80 KB: the parser alone took 3.5 GB.
		"flow": {base + "  - name: a\n    load: { type: synchronous }\n    request: { extra_body: { x: " + strings.Repeat("[", 40_000) + strings.Repeat("]", 40_000) + " } }\n", 11, 92},
		// "- - - x" nests a sequence per dash.
		"dashes":      {"version: 1\nname: x\nx:\n" + strings.Repeat("- ", 40_000) + "x\n", 4, 129},
		"indentation": {deepBlock(100), 73, 69},
	} {
		t.Run(name, func(t *testing.T) {
			// Not parallel: allocated reads the process-wide TotalAlloc.
			var es Errors
			n := allocated(func() { _, es = parse(t, tc.src, Options{}) })
			assert.Assert(t, n < memBound, "allocated %d MiB", n>>20)
			assert.Equal(t, len(es), 1, "%v", es)
			assert.Assert(t, strings.Contains(es[0].Message, "nest deeper than 64 levels"), es[0].Message)
			assert.Equal(t, fmt.Sprintf("%d:%d", es[0].Line, es[0].Column), fmt.Sprintf("%d:%d", tc.line, tc.col))
		})
	}
	// Depths a plan uses, and brackets inside strings, comments and block
	// scalars, are fine.
	_, es := parse(t, base+`  - name: a # [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[
    load: { type: synchronous }
    request:
      extra_body:
        a: "`+strings.Repeat("[", 100)+`"
        b: '`+strings.Repeat("{", 100)+`'
        c: |
          `+strings.Repeat("[", 100)+`
        d: x`+strings.Repeat("[", 100)+`
        e: [[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]
`, Options{})
	assert.Assert(t, es == nil, es)
}

func TestWideMappingIsRefusedBeforeParsing(t *testing.T) {
	// Not parallel: allocated reads the process-wide TotalAlloc.
	// The parser's cost grows with the square of a block mapping's keys:
	// 50,000 keys (490 KB) allocated 9.8 GB.
	var b strings.Builder
	b.WriteString(base + "  - name: a\n    load: { type: synchronous }\n    request:\n      extra_body:\n")
	for i := 0; i < 50_000; i++ {
		fmt.Fprintf(&b, "        k%d: v\n", i)
	}
	var es Errors
	n := allocated(func() { _, es = parse(t, b.String(), Options{}) })
	assert.Assert(t, n < memBound, "allocated %d MiB", n>>20)
	assert.Equal(t, len(es), 1, "%v", es)
	assert.Assert(t, strings.Contains(es[0].Message, "more than 1000 keys"), es[0].Message)
	assert.Equal(t, es[0].Line, 13+1000)
	assert.Equal(t, es[0].Column, 9)
}

func TestTooManyValuesAreRefusedBeforeParsing(t *testing.T) {
	// Not parallel: allocated reads the process-wide TotalAlloc.
	src := base + "  - name: a\n    load: { type: synchronous }\n    request: { extra_body: { x: [" + strings.Repeat("1,", 200_000) + "1] } }\n"
	var es Errors
	n := allocated(func() { _, es = parse(t, src, Options{}) })
	assert.Assert(t, n < memBound, "allocated %d MiB", n>>20)
	assert.Equal(t, len(es), 1, "%v", es)
	assert.Assert(t, strings.Contains(es[0].Message, "more than 100000 values"), es[0].Message)
	assert.Equal(t, es[0].Line, 11)
}

func TestPlanFilesAreBoundedBeforeTheyAreRead(t *testing.T) {
	// Not parallel: allocated reads the process-wide TotalAlloc.
	dir := t.TempDir()
	big := filepath.Join(dir, "big.yaml")
	f, err := os.Create(big)
	assert.NilError(t, err)
	assert.NilError(t, f.Truncate(50<<20)) // 50 MB, sparse
	assert.NilError(t, f.Close())
	var rerr error
	n := allocated(func() { _, rerr = Read(big, Options{}) })
	assert.Assert(t, n < memBound, "allocated %d MiB", n>>20)
	es, ok := AsErrors(rerr)
	assert.Assert(t, ok, "%v", rerr)
	assert.Equal(t, es[0].Error(), big+":1:1: the plan file is larger than the limit of 1 MiB: one needs a few kilobytes")
	_, err = ReadServers(big, Options{})
	assert.ErrorContains(t, err, "the servers file is larger than the limit of 1 MiB")
	assert.Assert(t, !IsServersFile(big))

	fifo := filepath.Join(dir, "fifo.yaml")
	assert.NilError(t, syscall.Mkfifo(fifo, 0o600))
	for path, want := range map[string]string{
		dir:         dir + " is a directory, not a regular file",
		fifo:        fifo + " is a named pipe (FIFO), not a regular file", // and the open does not block
		"/dev/zero": "/dev/zero is a character device, not a regular file",
	} {
		_, err := Read(path, Options{})
		assert.ErrorContains(t, err, "read plan: "+want)
		_, err = ReadServers(path, Options{})
		assert.ErrorContains(t, err, "read servers: "+want)
		assert.Assert(t, !IsServersFile(path))
	}
}

func TestByteOrderMarkIsSkipped(t *testing.T) {
	t.Parallel()
	p, es := parse(t, "\xef\xbb\xbf"+base+"  - name: a\n    load: { type: synchronous }\n", Options{})
	assert.Assert(t, es == nil, es)
	assert.Equal(t, p.Name, "t")
	_, es = parse(t, "\xef\xbb\xbfversion: 1\nname: t\nservers: {s: {sim: {}}}\nscenarios:\n  - nme: a\n", Options{})
	assert.Equal(t, fmt.Sprintf("%d:%d", es[0].Line, es[0].Column), "5:5", "positions stay those of the text: %v", es)

	dir := t.TempDir()
	sf := filepath.Join(dir, "servers.yaml")
	assert.NilError(t, os.WriteFile(sf, []byte("\xef\xbb\xbfversion: 1\nservers:\n  s: { sim: {} }\n"), 0o644))
	assert.Assert(t, IsServersFile(sf))
	_, err := ReadServers(sf, Options{})
	assert.NilError(t, err)
}

func TestInterpolationIsBounded(t *testing.T) {
	t.Parallel()
	huge := strings.Repeat("x", 300<<10)
	src := base + "  - name: a\n    load: { type: synchronous }\n    request: { extra_body: { a: \"${H}\", b: \"${H}\", c: \"${H}\", d: \"${H}\" } }\n"
	_, es := parse(t, src, Options{Env: env(map[string]string{"H": huge})})
	assert.Equal(t, len(es), 1, "%v", es)
	assert.Equal(t, es[0].Message, "values substituted from the environment exceed 1 MiB in total")
	assert.Equal(t, fmt.Sprintf("%d:%d", es[0].Line, es[0].Column), "11:67")

	// A variable holding deep YAML is text, not a bomb.
	src = base + "  - name: a\n    load: { type: synchronous }\n    request: { extra_body: { a: \"${DEEP}\" } }\n"
	p, es := parse(t, src, Options{Env: env(map[string]string{"DEEP": strings.Repeat("[", 40_000)})})
	assert.Assert(t, es == nil, es)
	assert.Equal(t, len(p.Scenarios[0].Request.ExtraBody["a"].(string)), 40_000)
}

func TestLineBreaksOfEveryKindAreCounted(t *testing.T) {
	// Not parallel: allocated reads the process-wide TotalAlloc.
	// Lines ended by a lone CR: 50,000 keys the YAML library would read
	// as lines, at 9.8 GB.
	var b strings.Builder
	b.WriteString("version: 1\rservers:\r")
	for i := 0; i < 50_000; i++ {
		fmt.Fprintf(&b, "  k%d: {sim: {}}\r", i)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "servers.yaml")
	assert.NilError(t, os.WriteFile(path, []byte(b.String()), 0o644))
	var is bool
	n := allocated(func() { is = IsServersFile(path) })
	assert.Assert(t, !is)
	assert.Assert(t, n < memBound, "allocated %d MiB", n>>20)
	// A --set value is bounded the same way.
	var es Errors
	n = allocated(func() {
		_, es = parse(t, base+"  - name: a\n    load: { type: synchronous }\n", Options{Sets: []string{"request.extra_body=" + strings.ReplaceAll(b.String(), "\r", "\n ")}})
	})
	assert.Assert(t, n < memBound, "allocated %d MiB", n>>20)
	assert.Equal(t, len(es), 1, "%v", es)
	assert.Assert(t, strings.Contains(es[0].Message, "in the value, this mapping has more than 1000 keys"), es[0].Message)
}

// JSON-style flow mappings ({"k":"v"}, no space after the colon) are read
// as YAML reads them: a '#' or a bracket inside their quoted values is
// text, not a comment or a nesting level.
func TestJSONStyleFlowMappingsPassThePrescan(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString("extra_body: {\"prefix\":\"Answer # 1\", \"n\":2}\nafter: [1, 2]\n")
	for i := range 100 {
		fmt.Fprintf(&b, "k%d: {\"re\":\"[a-z{\"}\n", i)
	}
	if issue := prescan([]byte(b.String())); issue != nil {
		t.Fatalf("a valid plan was refused: %+v", issue)
	}
}
