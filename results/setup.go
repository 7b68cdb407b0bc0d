package results

import (
	"fmt"
	"slices"
	"strings"
)

// This file says what a run's setup was, for people: whether the
// simulator answered in place of a real server (a dry run, which every
// report must label as one), and how two runs' setups differ (runs of
// different setups are never compared silently: `compare` and
// `--baseline` use SetupDiff).

// kindSim is the kind of a simulated server (plan.KindSim).
const kindSim = "sim"

// IsSimulated reports whether the simulator answered in this server's
// place. Results written before ServerEnv.Simulated existed say so by
// their kind alone.
func (e *ServerEnv) IsSimulated() bool { return e.Simulated || e.Kind == kindSim }

// Profile is the simulator profile a simulated server ran, "" for the plain
// simulator or a real server. Results written before SimProfile existed
// carry it in Version ("simulator profile NAME").
func (e *ServerEnv) Profile() string {
	if !e.IsSimulated() {
		return ""
	}
	if e.SimProfile != "" {
		return e.SimProfile
	}
	p, _ := strings.CutPrefix(e.Version, "simulator profile ")
	if p == e.Version {
		return ""
	}
	return p
}

// String describes the replaced server as a dry run stands in for it:
// "vllm serving microsoft/Phi-3.5-mini-instruct",
// "vllm/vllm-openai:v0.6.3 serving …", "a local server process serving …".
func (r *ReplacedServer) String() string {
	var what string
	switch {
	case r.Image != "":
		what = r.Image
	case r.Preset != "":
		what = r.Preset
	case r.Kind == "container":
		what = "a container"
	case r.Kind == "process":
		what = "a local server process"
	case r.Kind == "url":
		what = "the server at the url in the plan"
	default:
		what = "a real server"
	}
	if r.Model != "" {
		what += " serving " + r.Model
	}
	return what
}

// simDetails are what a simulated server's label says beyond "the
// simulator": its profile, and what it stood in for.
func (e *ServerEnv) simDetails() []string {
	var d []string
	if p := e.Profile(); p != "" {
		d = append(d, "profile "+p)
	}
	if e.Replaces != nil {
		d = append(d, "not a measurement of "+e.Replaces.String())
	}
	return d
}

// DryRunLabel says what a simulated server's figures are: "dry run on the
// simulator (profile phi-3.5-mini-a100), not a measurement of vllm serving
// microsoft/Phi-3.5-mini-instruct"; "" for a real server.
func (e *ServerEnv) DryRunLabel() string {
	if !e.IsSimulated() {
		return ""
	}
	s := "dry run on the simulator"
	if p := e.Profile(); p != "" {
		s += " (profile " + p + ")"
	}
	if e.Replaces != nil {
		s += ", not a measurement of " + e.Replaces.String()
	}
	return s
}

// DryRun says how the simulator took part in the run, for every report's
// verdict: "" when no server was simulated; one server's DryRunLabel when
// every server was simulated alike; else "dry run on the simulator:" (or
// "partly a dry run on the simulator:" when some servers were real) with
// each simulated server and its details.
func (r *Run) DryRun() string {
	if r == nil {
		return ""
	}
	var sims []*ServerEnv
	labels := map[string]bool{}
	for i := range r.Environment.Servers {
		if e := &r.Environment.Servers[i]; e.IsSimulated() {
			sims = append(sims, e)
			labels[e.DryRunLabel()] = true
		}
	}
	all := len(sims) == len(r.Environment.Servers)
	switch {
	case len(sims) == 0:
		return ""
	case all && len(labels) == 1:
		return sims[0].DryRunLabel()
	}
	parts := make([]string, len(sims))
	for i, e := range sims {
		parts[i] = "server " + e.Name
		if d := e.simDetails(); len(d) > 0 {
			parts[i] += " (" + strings.Join(d, ", ") + ")"
		}
	}
	prefix := "dry run on the simulator: "
	if !all {
		prefix = "partly a dry run on the simulator: "
	}
	return prefix + strings.Join(parts, "; ")
}

// Simulated reports whether any of the run's servers was simulated.
func (r *Run) Simulated() bool { return r.DryRun() != "" }

// SetupDiff lists, for people, how the setup of head differs from that of
// base, as "what: base → head": per server (matched by name, or the only
// server of each run with each other), its kind (a real server against the
// simulator), container image and image digest, model and simulator
// profile; and the GPU models (when both runs name them and neither ran on
// the simulator alone). A figure one run does not record is not a
// difference, nor are a server's arguments (the change a comparison is
// usually made for) or what a simulated server stood in for (a label: its
// profile and model are what ran). Empty when the setups match as far as
// both runs tell.
func SetupDiff(base, head *Run) []string {
	if base == nil || head == nil {
		return nil
	}
	var out []string
	bs, hs := base.Environment.Servers, head.Environment.Servers
	if len(bs) > 0 && len(hs) > 0 {
		inHead := map[string]int{}
		for i, s := range hs {
			inHead[s.Name] = i
		}
		matched := map[int]bool{}
		var onlyBase []int
		type pair struct{ b, h int }
		var pairs []pair
		for i, s := range bs {
			if j, ok := inHead[s.Name]; ok && !matched[j] {
				matched[j] = true
				pairs = append(pairs, pair{i, j})
			} else {
				onlyBase = append(onlyBase, i)
			}
		}
		var onlyHead []int
		for j := range hs {
			if !matched[j] {
				onlyHead = append(onlyHead, j)
			}
		}
		if len(onlyBase) == 1 && len(onlyHead) == 1 {
			// One server each under different names (another --servers
			// file): the same role.
			pairs = append(pairs, pair{onlyBase[0], onlyHead[0]})
			onlyBase, onlyHead = nil, nil
		}
		for _, p := range pairs {
			out = append(out, serverDiff(&bs[p.b], &hs[p.h])...)
		}
		for _, i := range onlyBase {
			out = append(out, fmt.Sprintf("server %s: in the base run only", bs[i].Name))
		}
		for _, j := range onlyHead {
			out = append(out, fmt.Sprintf("server %s: in the head run only", hs[j].Name))
		}
	}
	if !allSimulated(base) && !allSimulated(head) {
		b, h := gpuModels(base.Environment.GPUs), gpuModels(head.Environment.GPUs)
		if b != "" && h != "" && b != h {
			out = append(out, fmt.Sprintf("GPUs: %s → %s", b, h))
		}
	}
	return out
}

// serverDiff lists how one server differs between two runs.
func serverDiff(b, h *ServerEnv) []string {
	name := b.Name
	if h.Name != b.Name {
		name = b.Name + " → " + h.Name
	}
	var out []string
	add := func(what, from, to string) {
		out = append(out, fmt.Sprintf("server %s: %s %s → %s", name, what, from, to))
	}
	bk, hk := kindText(b), kindText(h)
	if bk != hk {
		add("kind", bk, hk)
	}
	if b.IsSimulated() && h.IsSimulated() {
		// What a simulated server stood in for is a label, not what
		// ran: the profile and the model are.
		if bp, hp := b.Profile(), h.Profile(); bp != hp {
			add("simulator profile", orNone(bp), orNone(hp))
		}
	}
	switch {
	case b.Image != "" && h.Image != "" && b.Image != h.Image:
		add("image", b.Image, h.Image)
	case b.Digest != "" && h.Digest != "" && b.Digest != h.Digest:
		add("image digest", b.Digest, h.Digest)
	}
	if b.Model != "" && h.Model != "" && b.Model != h.Model {
		add("model", b.Model, h.Model)
	}
	return out
}

// kindText is a server's kind as SetupDiff shows it.
func kindText(e *ServerEnv) string {
	if e.IsSimulated() {
		return "sim (the simulator)"
	}
	if e.Kind == "" {
		return "unknown"
	}
	return e.Kind
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// allSimulated reports whether every server of a run that names its
// servers was simulated: its GPUs, if any, served nothing.
func allSimulated(r *Run) bool {
	if len(r.Environment.Servers) == 0 {
		return false
	}
	for i := range r.Environment.Servers {
		if !r.Environment.Servers[i].IsSimulated() {
			return false
		}
	}
	return true
}

// gpuModels names a run's GPU models with their counts, "2× NVIDIA H100
// 80GB HBM3", leaving out memory and driver ("NAME (MEMORY, driver
// VERSION)"), so a driver update is not a different setup; "" when none
// are known.
func gpuModels(gpus []string) string {
	counts := map[string]int{}
	for _, g := range gpus {
		name, _, _ := strings.Cut(g, " (")
		if name = strings.TrimSpace(name); name != "" {
			counts[name]++
		}
	}
	names := make([]string, 0, len(counts))
	for n := range counts {
		names = append(names, n)
	}
	slices.Sort(names)
	for i, n := range names {
		names[i] = fmt.Sprintf("%d× %s", counts[n], n)
	}
	return strings.Join(names, ", ")
}
