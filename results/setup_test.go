package results

import (
	"slices"
	"testing"
)

func envRun(gpus []string, servers ...ServerEnv) *Run {
	return &Run{Environment: Environment{Servers: servers, GPUs: gpus}}
}

var (
	vllm = ServerEnv{Name: "vllm", Kind: "container", Image: "vllm/vllm-openai:v0.6.3", Digest: "sha256:aaa",
		Model: "microsoft/Phi-3.5-mini-instruct"}
	// vllm under --simulate.
	vllmSim = ServerEnv{Name: "vllm", Kind: "sim", Simulated: true, SimProfile: "phi-3.5-mini-a100",
		Model:    "microsoft/Phi-3.5-mini-instruct",
		Replaces: &ReplacedServer{Kind: "container", Preset: "vllm", Model: "microsoft/Phi-3.5-mini-instruct"}}
	// A plan's own sim: server.
	target = ServerEnv{Name: "target", Kind: "sim", Simulated: true, SimProfile: "phi-3.5-mini-a100", Model: "microsoft/Phi-3.5-mini-instruct"}
)

func TestDryRunLabels(t *testing.T) {
	for _, tc := range []struct {
		name string
		run  *Run
		want string
	}{
		{"real", envRun(nil, vllm), ""},
		{"no servers", envRun(nil), ""},
		{"--simulate", envRun(nil, vllmSim),
			"dry run on the simulator (profile phi-3.5-mini-a100), not a measurement of vllm serving microsoft/Phi-3.5-mini-instruct"},
		{"sim: server", envRun(nil, target), "dry run on the simulator (profile phi-3.5-mini-a100)"},
		{"plain simulator", envRun(nil, ServerEnv{Name: "sim", Kind: "sim", Simulated: true}), "dry run on the simulator"},
		// results.json of an older benchplan: kind sim, profile in version.
		{"old results", envRun(nil, ServerEnv{Name: "sim", Kind: "sim", Version: "simulator profile llama-3.1-8b-a100"}),
			"dry run on the simulator (profile llama-3.1-8b-a100)"},
		{"image named", envRun(nil, ServerEnv{Name: "v", Kind: "sim", Simulated: true,
			Replaces: &ReplacedServer{Kind: "container", Preset: "vllm", Image: "vllm/vllm-openai:v0.6.3", Model: "m"}}),
			"dry run on the simulator, not a measurement of vllm/vllm-openai:v0.6.3 serving m"},
		{"url", envRun(nil, ServerEnv{Name: "r", Kind: "sim", Simulated: true, Replaces: &ReplacedServer{Kind: "url"}}),
			"dry run on the simulator, not a measurement of the server at the url in the plan"},
		{"two alike", envRun(nil, target, target), "dry run on the simulator (profile phi-3.5-mini-a100)"},
		{"two different", envRun(nil, vllmSim, ServerEnv{Name: "tgi", Kind: "sim", Simulated: true, Replaces: &ReplacedServer{Kind: "container", Preset: "tgi"}}),
			"dry run on the simulator: server vllm (profile phi-3.5-mini-a100, not a measurement of vllm serving microsoft/Phi-3.5-mini-instruct); server tgi (not a measurement of tgi)"},
		{"partly", envRun(nil, vllm, ServerEnv{Name: "judge", Kind: "sim", Simulated: true}),
			"partly a dry run on the simulator: server judge"},
	} {
		if got := tc.run.DryRun(); got != tc.want {
			t.Errorf("%s: DryRun() = %q, want %q", tc.name, got, tc.want)
		}
		if got := tc.run.Simulated(); got != (tc.want != "") {
			t.Errorf("%s: Simulated() = %v", tc.name, got)
		}
	}
	var nilRun *Run
	if nilRun.DryRun() != "" {
		t.Error("a nil run is no dry run")
	}
}

func TestSetupDiff(t *testing.T) {
	h100 := []string{"NVIDIA H100 80GB HBM3"}
	a100 := []string{"NVIDIA A100-SXM4-80GB (81920 MiB, driver 550.54.15)", "NVIDIA A100-SXM4-80GB (81920 MiB, driver 550.54.15)"}
	with := func(e ServerEnv, f func(*ServerEnv)) ServerEnv {
		if e.Replaces != nil {
			r := *e.Replaces
			e.Replaces = &r
		}
		f(&e)
		return e
	}
	for _, tc := range []struct {
		name       string
		base, head *Run
		want       []string
	}{
		{"same", envRun(h100, vllm), envRun(h100, vllm), nil},
		{"nil", nil, envRun(nil, vllm), nil},
		{"no environment", envRun(nil), envRun(h100, vllm), nil},
		{"simulated head", envRun(h100, vllm), envRun(nil, vllmSim),
			[]string{"server vllm: kind container → sim (the simulator)"}},
		{"simulated base", envRun(nil, vllmSim), envRun(h100, vllm),
			[]string{"server vllm: kind sim (the simulator) → container"}},
		{"digest", envRun(h100, vllm), envRun(h100, with(vllm, func(e *ServerEnv) { e.Digest = "sha256:bbb" })),
			[]string{"server vllm: image digest sha256:aaa → sha256:bbb"}},
		{"digest unknown on one side", envRun(h100, vllm), envRun(h100, with(vllm, func(e *ServerEnv) { e.Digest = "" })), nil},
		{"image", envRun(h100, vllm), envRun(h100, with(vllm, func(e *ServerEnv) { e.Image, e.Digest = "vllm/vllm-openai:v0.6.4", "sha256:ccc" })),
			[]string{"server vllm: image vllm/vllm-openai:v0.6.3 → vllm/vllm-openai:v0.6.4"}},
		{"model", envRun(h100, vllm), envRun(h100, with(vllm, func(e *ServerEnv) { e.Model = "meta-llama/Llama-3.1-8B-Instruct" })),
			[]string{"server vllm: model microsoft/Phi-3.5-mini-instruct → meta-llama/Llama-3.1-8B-Instruct"}},
		{"arguments are the change under test", envRun(h100, vllm), envRun(h100, with(vllm, func(e *ServerEnv) { e.Args = []string{"--max-num-seqs", "64"} })), nil},
		{"profile", envRun(nil, target), envRun(nil, with(target, func(e *ServerEnv) { e.SimProfile = "phi-3.5-mini-a100-mem0.4" })),
			[]string{"server target: simulator profile phi-3.5-mini-a100 → phi-3.5-mini-a100-mem0.4"}},
		{"profile against the plain simulator", envRun(nil, target), envRun(nil, with(target, func(e *ServerEnv) { e.SimProfile = "" })),
			[]string{"server target: simulator profile phi-3.5-mini-a100 → none"}},
		// The simulator ran alike: what it stood in for is only a label.
		{"stand-in", envRun(nil, vllmSim), envRun(nil, with(vllmSim, func(e *ServerEnv) { e.Replaces.Preset = "tgi" })), nil},
		{"sim: server against --simulate", envRun(nil, target), envRun(nil, vllmSim), nil},
		{"renamed and another model", envRun(nil, target), envRun(nil, with(vllmSim, func(e *ServerEnv) { e.Model = "m" })),
			[]string{"server target → vllm: model microsoft/Phi-3.5-mini-instruct → m"}},
		{"GPU model", envRun(a100, vllm), envRun(h100, vllm),
			[]string{"GPUs: 2× NVIDIA A100-SXM4-80GB → 1× NVIDIA H100 80GB HBM3"}},
		{"GPU driver only", envRun(a100, vllm), envRun([]string{"NVIDIA A100-SXM4-80GB (81920 MiB, driver 560.1)", "NVIDIA A100-SXM4-80GB"}, vllm), nil},
		{"GPU unknown on one side", envRun(nil, vllm), envRun(h100, vllm), nil},
		{"GPUs beside the simulator do not count", envRun(a100, target), envRun(h100, target), nil},
		{"renamed single server", envRun(h100, vllm), envRun(h100, with(vllm, func(e *ServerEnv) { e.Name = "vllm-phi" })), nil},
		{"one server more", envRun(h100, vllm), envRun(h100, vllm, target),
			[]string{"server target: in the head run only"}},
		{"several", envRun(a100, vllm, target), envRun(h100, vllmSim),
			[]string{"server vllm: kind container → sim (the simulator)", "server target: in the base run only"}},
		{"several real", envRun(a100, vllm, target), envRun(h100, with(vllm, func(e *ServerEnv) { e.Model = "m" })),
			[]string{"server vllm: model microsoft/Phi-3.5-mini-instruct → m", "server target: in the base run only", "GPUs: 2× NVIDIA A100-SXM4-80GB → 1× NVIDIA H100 80GB HBM3"}},
	} {
		got := SetupDiff(tc.base, tc.head)
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: SetupDiff =\n  %q\nwant\n  %q", tc.name, got, tc.want)
		}
	}
}
