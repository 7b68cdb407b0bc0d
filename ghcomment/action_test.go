package ghcomment_test

// actionlint checks the workflows, and the inputs a workflow gives a local
// action, but not the steps of a composite action.yml. These tests check
// those: structure, script-injection safety, shell syntax (and shellcheck
// where it is installed), and the run and comment steps' behaviour, run
// with bash as the runner runs them against a stand-in benchplan.

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

type actionStep struct {
	Name  string            `yaml:"name"`
	ID    string            `yaml:"id"`
	If    string            `yaml:"if"`
	Uses  string            `yaml:"uses"`
	Run   string            `yaml:"run"`
	Shell string            `yaml:"shell"`
	With  map[string]string `yaml:"with"`
	Env   map[string]string `yaml:"env"`

	WorkingDirectory string `yaml:"working-directory"`
	ContinueOnError  bool   `yaml:"continue-on-error"`
}

// actionFile is action.yml's schema (what GitHub accepts for a composite
// action): decoding it strictly catches a misspelt key.
type actionFile struct {
	Name        string            `yaml:"name"`
	Description string            `yaml:"description"`
	Author      string            `yaml:"author"`
	Branding    map[string]string `yaml:"branding"`
	Inputs      map[string]struct {
		Description string `yaml:"description"`
		Required    bool   `yaml:"required"`
		Default     string `yaml:"default"`
	} `yaml:"inputs"`
	Outputs map[string]struct {
		Description string `yaml:"description"`
		Value       string `yaml:"value"`
	} `yaml:"outputs"`
	Runs struct {
		Using string       `yaml:"using"`
		Steps []actionStep `yaml:"steps"`
	} `yaml:"runs"`
}

func readAction(t *testing.T) *actionFile {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("..", "action.yml"))
	assert.NilError(t, err)
	var a actionFile
	assert.NilError(t, yaml.UnmarshalWithOptions(src, &a, yaml.Strict()))
	return &a
}

func (a *actionFile) step(t *testing.T, id string) actionStep {
	t.Helper()
	for _, s := range a.Runs.Steps {
		if s.ID == id {
			return s
		}
	}
	t.Fatalf("action.yml has no step %q", id)
	return actionStep{}
}

var exprRe = regexp.MustCompile(`\$\{\{\s*(.*?)\s*\}\}`)

func TestActionMetadata(t *testing.T) {
	a := readAction(t)
	assert.Equal(t, a.Runs.Using, "composite")
	assert.Assert(t, a.Name != "" && a.Description != "")
	assert.Assert(t, a.Inputs["plan"].Required)
	for _, in := range []string{"args", "baseline", "comment", "github-token"} {
		_, ok := a.Inputs[in]
		assert.Assert(t, ok, "input %s", in)
		assert.Assert(t, !a.Inputs[in].Required, "input %s", in)
	}
	assert.Equal(t, a.Inputs["comment"].Default, "true")
	assert.Equal(t, a.Inputs["github-token"].Default, "${{ github.token }}")

	ids := map[string]bool{}
	var texts []string
	for _, s := range a.Runs.Steps {
		if s.ID != "" {
			ids[s.ID] = true
		}
		assert.Assert(t, s.Name != "", "every step has a name")
		switch {
		case s.Run != "":
			assert.Equal(t, s.Shell, "bash", "step %q", s.Name)
			// Script-injection safety: values reach scripts only through env.
			assert.Assert(t, !strings.Contains(s.Run, "${{"), "step %q interpolates an expression into its script", s.Name)
		case s.Uses != "":
			// Pinned by full commit SHA.
			assert.Assert(t, is.Regexp(`^actions/[a-z-]+@[0-9a-f]{40}$`, s.Uses))
		default:
			t.Errorf("step %q neither runs nor uses", s.Name)
		}
		texts = append(texts, s.If)
		for _, v := range s.Env {
			texts = append(texts, v)
		}
		for _, v := range s.With {
			texts = append(texts, v)
		}
	}
	for _, o := range a.Outputs {
		assert.Assert(t, o.Description != "")
		texts = append(texts, o.Value)
	}
	// Every input and step output an expression names exists.
	for _, text := range texts {
		for _, m := range regexp.MustCompile(`inputs\.([A-Za-z0-9_-]+)`).FindAllStringSubmatch(text, -1) {
			_, ok := a.Inputs[m[1]]
			assert.Assert(t, ok, "unknown input %q in %q", m[1], text)
		}
		for _, m := range regexp.MustCompile(`steps\.([A-Za-z0-9_-]+)\.outputs`).FindAllStringSubmatch(text, -1) {
			assert.Assert(t, ids[m[1]], "unknown step %q in %q", m[1], text)
		}
	}
	// The reports are kept and the job fails as benchplan did, whatever happened.
	upload := a.step(t, "upload")
	assert.Assert(t, strings.HasPrefix(upload.Uses, "actions/upload-artifact@"))
	assert.Assert(t, strings.HasPrefix(upload.If, "always()"))
	last := a.Runs.Steps[len(a.Runs.Steps)-1]
	assert.Equal(t, last.ID, "finish")
	assert.Assert(t, strings.HasPrefix(last.If, "always()"))
	assert.Equal(t, strings.TrimSpace(last.Run), `exit "$CODE"`)
	assert.Equal(t, last.Env["CODE"], "${{ steps.run.outputs.exit-code }}")
	comment := a.step(t, "comment")
	assert.Assert(t, is.Contains(comment.If, "inputs.comment == 'true'"))
	assert.Assert(t, is.Contains(comment.If, "github.event.pull_request.number"))
	assert.Equal(t, comment.Env["GITHUB_TOKEN"], "${{ inputs.github-token }}")
	assert.Equal(t, a.step(t, "install").Env["ACTION_REF"], "${{ github.action_ref }}")
	assert.Equal(t, a.step(t, "build").If, "steps.install.outputs.source == 'true'")
}

func TestActionScriptsParse(t *testing.T) {
	a := readAction(t)
	shellcheck, scErr := exec.LookPath("shellcheck")
	if scErr != nil {
		t.Log("SKIP shellcheck of action.yml's scripts: shellcheck is not installed")
	}
	for _, s := range a.Runs.Steps {
		if s.Run == "" {
			continue
		}
		out, err := exec.Command("bash", "-n", "-c", s.Run).CombinedOutput()
		assert.NilError(t, err, "step %q: %s", s.Name, out)
		if scErr == nil {
			// The flags actionlint gives shellcheck for workflow scripts.
			cmd := exec.Command(shellcheck, "--norc", "-x", "--shell", "bash", "-e", "SC1091,SC2194,SC2050,SC2153,SC2154,SC2157,SC2043", "-")
			cmd.Stdin = strings.NewReader(s.Run)
			out, err := cmd.CombinedOutput()
			assert.NilError(t, err, "shellcheck, step %q:\n%s", s.Name, out)
		}
	}
}

// runStep runs a step's script the way the runner runs `shell: bash`, with
// env, in dir; it returns the exit code, the output and GITHUB_OUTPUT.
func runStep(t *testing.T, s actionStep, dir string, env map[string]string) (int, string, map[string]string) {
	t.Helper()
	script := filepath.Join(t.TempDir(), "step.sh")
	assert.NilError(t, os.WriteFile(script, []byte(s.Run), 0o644))
	outFile := filepath.Join(t.TempDir(), "github_output")
	assert.NilError(t, os.WriteFile(outFile, nil, 0o644))
	cmd := exec.Command("bash", "--noprofile", "--norc", "-eo", "pipefail", script)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "GITHUB_OUTPUT=" + outFile}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else {
		assert.NilError(t, err)
	}
	outputs := map[string]string{}
	data, err := os.ReadFile(outFile)
	assert.NilError(t, err)
	for line := range strings.SplitSeq(strings.TrimSpace(string(data)), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			outputs[k] = v
		}
	}
	return code, buf.String(), outputs
}

// standIn writes a benchplan stand-in that records its arguments, one a
// line, writes summary.md into --out and exits with code.
func standIn(t *testing.T, code string) (bin, argsFile string) {
	t.Helper()
	dir := t.TempDir()
	bin = filepath.Join(dir, "benchplan")
	argsFile = filepath.Join(dir, "args")
	script := `#!/usr/bin/env bash
printf '%s\n' "$@" > "` + argsFile + `"
out=""
while [ $# -gt 0 ]; do
  if [ "$1" = --out ]; then out="$2"; fi
  shift
done
if [ -n "$out" ]; then mkdir -p "$out" && printf '<!-- benchplan:plan=chat -->\n### ok\n' > "$out/summary.md"; fi
exit ` + code + "\n"
	assert.NilError(t, os.WriteFile(bin, []byte(script), 0o755))
	return bin, argsFile
}

func readArgs(t *testing.T, file string) []string {
	t.Helper()
	data, err := os.ReadFile(file)
	assert.NilError(t, err)
	return strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
}

func TestActionRunStep(t *testing.T) {
	a := readAction(t)
	run := a.step(t, "run")

	t.Run("args split as a shell would, baseline passed when present", func(t *testing.T) {
		ws := t.TempDir()
		assert.NilError(t, os.MkdirAll(filepath.Join(ws, "base"), 0o755))
		assert.NilError(t, os.WriteFile(filepath.Join(ws, "base", "results.json"), []byte("{}"), 0o644))
		bin, argsFile := standIn(t, "1")
		code, log, outs := runStep(t, run, ws, map[string]string{
			"BENCHPLAN": bin, "INPUT_PLAN": "plans/chat.yaml", "INPUT_OUT": "out dir",
			"INPUT_ARGS":     `--servers plans/servers/remote.yaml --set "scenarios.chat.description=two words" --set 'x=$HOME' *.yaml`,
			"INPUT_BASELINE": "base/results.json",
		})
		assert.Equal(t, code, 0, log) // the step itself never fails
		assert.DeepEqual(t, readArgs(t, argsFile), []string{"run", "plans/chat.yaml", "--out", "out dir",
			"--servers", "plans/servers/remote.yaml", "--set", "scenarios.chat.description=two words", "--set", "x=$HOME", "*.yaml",
			"--baseline", "base/results.json"})
		assert.DeepEqual(t, outs, map[string]string{"exit-code": "1", "out": "out dir", "results": "out dir/results.json"})
		assert.Assert(t, is.Contains(log, "::error title=benchplan::plans/chat.yaml: at least one assertion failed"))
	})

	t.Run("no args, missing baseline", func(t *testing.T) {
		bin, argsFile := standIn(t, "0")
		code, log, outs := runStep(t, run, t.TempDir(), map[string]string{
			"BENCHPLAN": bin, "INPUT_PLAN": "p.yaml", "INPUT_OUT": "r", "INPUT_ARGS": "  ", "INPUT_BASELINE": "baseline/results.json",
		})
		assert.Equal(t, code, 0, log)
		assert.DeepEqual(t, readArgs(t, argsFile), []string{"run", "p.yaml", "--out", "r"})
		assert.Equal(t, outs["exit-code"], "0")
		assert.Assert(t, is.Contains(log, "::notice title=benchplan::no baseline at baseline/results.json: running without one"))
	})

	t.Run("unmatched quote", func(t *testing.T) {
		bin, argsFile := standIn(t, "0")
		code, log, outs := runStep(t, run, t.TempDir(), map[string]string{
			"BENCHPLAN": bin, "INPUT_PLAN": "p.yaml", "INPUT_OUT": "r", "INPUT_ARGS": `--set "a=b`, "INPUT_BASELINE": "",
		})
		assert.Equal(t, code, 0, log)
		assert.Equal(t, outs["exit-code"], "2")
		assert.Assert(t, is.Contains(log, "could not split the args input"))
		_, err := os.Stat(argsFile)
		assert.Assert(t, os.IsNotExist(err), "benchplan ran")
	})

	t.Run("an input cannot inject shell code", func(t *testing.T) {
		ws := t.TempDir()
		bin, argsFile := standIn(t, "0")
		code, log, _ := runStep(t, run, ws, map[string]string{
			"BENCHPLAN": bin, "INPUT_PLAN": `$(touch pwned).yaml`, "INPUT_OUT": "r; touch pwned",
			"INPUT_ARGS": "`touch pwned` $(touch pwned) ; touch pwned", "INPUT_BASELINE": "",
		})
		assert.Equal(t, code, 0, log)
		_, err := os.Stat(filepath.Join(ws, "pwned"))
		assert.Assert(t, os.IsNotExist(err), "an input ran a command")
		assert.DeepEqual(t, readArgs(t, argsFile)[:4], []string{"run", "$(touch pwned).yaml", "--out", "r; touch pwned"})
	})
}

func TestActionCommentAndExitSteps(t *testing.T) {
	a := readAction(t)
	comment, last := a.step(t, "comment"), a.step(t, "finish")

	ws := t.TempDir()
	assert.NilError(t, os.MkdirAll(filepath.Join(ws, "out"), 0o755))
	assert.NilError(t, os.WriteFile(filepath.Join(ws, "out", "summary.md"), []byte("<!-- benchplan:plan=chat -->\n"), 0o644))
	bin, argsFile := standIn(t, "3")
	code, log, _ := runStep(t, comment, ws, map[string]string{
		"BENCHPLAN": bin, "OUT": "out", "GITHUB_TOKEN": "t", "PR_NUMBER": "7", "REPOSITORY": "octo/app", "API_URL": "https://api.github.com",
	})
	assert.Equal(t, code, 0, log) // a comment that fails warns; the gate decides
	assert.Assert(t, is.Contains(log, "::warning title=benchplan::could not post the pull-request comment"))
	assert.DeepEqual(t, readArgs(t, argsFile), []string{"comment", "--repo", "octo/app", "--pr", "7", "--api-url", "https://api.github.com", "--file", "out/summary.md"})

	code, log, _ = runStep(t, comment, t.TempDir(), map[string]string{"BENCHPLAN": bin, "OUT": "out"})
	assert.Equal(t, code, 0, log)
	assert.Assert(t, is.Contains(log, "no out/summary.md to post"))

	// benchplan run appends summary.md to GITHUB_STEP_SUMMARY itself: a
	// step of the action doing it too would show it twice.
	raw, err := os.ReadFile(filepath.Join("..", "action.yml"))
	assert.NilError(t, err)
	assert.Assert(t, !strings.Contains(string(raw), ">> \"$GITHUB_STEP_SUMMARY\""), "the action must not append the summary a second time")

	for _, c := range []string{"0", "1", "2", "3", "130"} {
		code, _, _ := runStep(t, last, ws, map[string]string{"CODE": c})
		assert.Equal(t, code, map[string]int{"0": 0, "1": 1, "2": 2, "3": 3, "130": 130}[c])
	}
}
