package assert

import (
	"slices"
	"strconv"
	"strings"

	"github.com/benchplan/benchplan/plan"
)

// suggestRoot returns a hint for an unknown top-level name, or "".
func suggestRoot(unknown string) string {
	// steps and capacity are read over a scenario's steps, beside the
	// per-step roots.
	roots := append(slices.Clone(ns.children[""]), "steps", "capacity", "model", "turn", "window")
	if best := closest(unknown, roots); len(best) > 0 {
		return "did you mean " + orList(best) + "?"
	}
	if paths := ns.leavesEnding(unknown); len(paths) > 0 {
		return "did you mean " + orList(paths) + "?"
	}
	return ""
}

// suggestMember returns a hint for an unknown member of group.
func suggestMember(group, member string) string {
	if best := closest(member, ns.children[group]); len(best) > 0 {
		for i := range best {
			best[i] = group + "." + best[i]
		}
		return "did you mean " + orList(best) + "?"
	}
	if best := closest(group+"."+member, ns.order); len(best) > 0 {
		return "did you mean " + orList(best) + "?"
	}
	var starts []string
	for _, m := range ns.members(group) {
		if strings.HasPrefix(m, member) {
			starts = append(starts, group+"."+m)
		}
	}
	if len(starts) > 0 && len(starts) <= 3 {
		return "did you mean " + orList(starts) + "?"
	}
	if m := ns.members(group); len(m) > 0 {
		return group + " has " + strings.Join(m, ", ")
	}
	return ""
}

// closest returns the candidates nearest to s (case-insensitively, by
// optimal string alignment distance) within a tolerance that grows with
// the length of s; ties are all returned.
func closest(s string, candidates []string) []string {
	limit := 1
	switch n := len(s); {
	case n > 8:
		limit = 3
	case n > 4:
		limit = 2
	}
	best, bestD := []string(nil), limit+1
	ls := strings.ToLower(s)
	for _, c := range candidates {
		d := plan.EditDistance(ls, strings.ToLower(c))
		switch {
		case d < bestD:
			best, bestD = []string{c}, d
		case d == bestD:
			best = append(best, c)
		}
	}
	if len(best) > 1 {
		best = nearestNumber(s, best)
	}
	return best
}

// nearestNumber breaks a tie between names that end in numbers of the
// same width as s's (p96: p90, p95, p99) in favour of the nearest number.
func nearestNumber(s string, tied []string) []string {
	ds, ok := trailingNumber(s)
	if !ok {
		return tied
	}
	var out []string
	bestDiff := -1
	for _, c := range tied {
		dc, ok := trailingNumber(c)
		if !ok || len(dc) != len(ds) {
			continue
		}
		a, _ := strconv.Atoi(ds)
		b, _ := strconv.Atoi(dc)
		diff := max(a-b, b-a)
		switch {
		case bestDiff < 0 || diff < bestDiff:
			out, bestDiff = []string{c}, diff
		case diff == bestDiff:
			out = append(out, c)
		}
	}
	if len(out) == 0 {
		return tied
	}
	return out
}

// trailingNumber returns the digits s ends with.
func trailingNumber(s string) (string, bool) {
	i := len(s)
	for i > 0 && s[i-1] >= '0' && s[i-1] <= '9' {
		i--
	}
	return s[i:], i < len(s)
}

// orList writes names as "`a`", "`a` or `b`", "`a`, `b` or `c`".
func orList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = "`" + n + "`"
	}
	if len(q) == 1 {
		return q[0]
	}
	return strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
}
