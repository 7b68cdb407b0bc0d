package results

import (
	"slices"
	"strconv"
	"time"
)

// Group tags: what a step's requests are grouped by (Request.Model,
// Request.Turn, Request.Window).
const (
	ByModel  = "model"
	ByTurn   = "turn"
	ByWindow = "window"
)

// MaxGroups is the most groups of one tag a step keeps: the first in key
// order (turns and windows by number, models by name). A step with more
// says so in Metrics.GroupsDropped.
const MaxGroups = 64

// Group is a step's figures over the requests that share one value of a
// tag: the requests to one model, the turns at one index of multi-turn
// sessions, the requests intended within one window of a ramp. Its figures
// are made exactly as the step's own are (docs/metrics.md, "Groups"), with
// their own intervals; gates read them as model["name"].ttft.p95,
// turn[4].ttft.p95 and window[2].requests.rate.
type Group struct {
	// By is the tag: model, turn or window.
	By string `json:"by"`
	// Key is the tag's value: the model's name, or the turn's or window's
	// number (from 1).
	Key string `json:"key"`
	// Metrics are the group's figures. Their per-request samples are not
	// kept (the step's are), and they have no groups of their own.
	Metrics Metrics `json:"metrics"`
}

// Label names the group as a gate reads it: model["sql-lora"], turn[4],
// window[2].
func (g *Group) Label() string {
	if g.By == ByModel {
		return g.By + "[" + strconv.Quote(g.Key) + "]"
	}
	return g.By + "[" + g.Key + "]"
}

// Group returns the step's group of tag by with key, or nil.
func (m *Metrics) Group(by, key string) *Group {
	for i := range m.Groups {
		if g := &m.Groups[i]; g.By == by && g.Key == key {
			return g
		}
	}
	return nil
}

// GroupsBy returns the step's groups of one tag, in key order.
func (m *Metrics) GroupsBy(by string) []Group {
	var out []Group
	for _, g := range m.Groups {
		if g.By == by {
			out = append(out, g)
		}
	}
	return out
}

// tagOf reads a request's tag by as a key ("" when untagged).
func tagOf(r *Request, by string) string {
	switch by {
	case ByModel:
		return r.Model
	case ByTurn:
		if r.Turn > 0 {
			return strconv.Itoa(r.Turn)
		}
	case ByWindow:
		if r.Window > 0 {
			return strconv.Itoa(r.Window)
		}
	}
	return ""
}

// computeGroups makes the groups of a step's requests: by model when they
// name more than one, by turn when some are session turns, by window when
// some fall in a ramp's windows. Excluded requests stay in their group
// (they count in its concurrency, as in the step's).
func computeGroups(reqs []Request, w Window) (groups []Group, dropped int) {
	for _, by := range []string{ByModel, ByTurn, ByWindow} {
		idx := map[string][]int{}
		for i := range reqs {
			if k := tagOf(&reqs[i], by); k != "" {
				idx[k] = append(idx[k], i)
			}
		}
		if len(idx) == 0 || (by == ByModel && len(idx) < 2) {
			continue
		}
		keys := make([]string, 0, len(idx))
		for k := range idx {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, func(a, b string) int {
			if by == ByModel {
				return cmpString(a, b)
			}
			x, _ := strconv.Atoi(a)
			y, _ := strconv.Atoi(b)
			return x - y
		})
		if len(keys) > MaxGroups {
			dropped += len(keys) - MaxGroups
			keys = keys[:MaxGroups]
		}
		for _, k := range keys {
			sub := make([]Request, len(idx[k]))
			for j, i := range idx[k] {
				sub[j] = reqs[i]
			}
			gw := w
			if by == ByWindow {
				n, _ := strconv.Atoi(k)
				gw = w.ofRampWindow(n)
			}
			m := computeMetrics(sub, gw)
			m.Samples = nil
			groups = append(groups, Group{By: by, Key: k, Metrics: m})
		}
	}
	return groups, dropped
}

// ofRampWindow is the measured window of ramp window n (from 1): the part
// of w within [Windows[n-2], Windows[n-1]) (from 0 for the first). Without
// the ramp's bounds it is w.
func (w Window) ofRampWindow(n int) Window {
	if n < 1 || n > len(w.Windows) {
		return w
	}
	from := time.Duration(0)
	if n > 1 {
		from = w.Windows[n-2]
	}
	to := w.Windows[n-1]
	out := w
	out.Start = max(w.Start, from)
	out.End = to
	if w.End > 0 {
		out.End = min(to, w.End)
	}
	if out.End <= out.Start {
		out.End = out.Start
	}
	return out
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
