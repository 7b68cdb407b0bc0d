package secret

import (
	"encoding/json"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

func TestLooksSecret(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]bool{
		"HF_TOKEN": true, "api_key": true, "X-Auth-Token": true, "apiKey": true, "MY_PASSWORD": true, "--hf-token": true,
		"OPENAI_API_KEY": true, "X-Api-Key": true, "Authorization": true, "DB_PASSWORD": true, "aws-secret-access-key": true, "session": true,
		"MAX_INPUT_TOKENS": false, "MAX_TOTAL_TOKENS": false, "NUM_SHARD": false, "MODEL_ID": false, "keyboard": false,
		"model": false, "monkey": false, "RATE": false,
		"DBPASSWORD": true, "MYSECRET": true, "APITOKEN": true, "GITHUBTOKEN": true, "MAXTOKENS": false, "TOKENS": false,
	} {
		assert.Equal(t, LooksSecret(name), want, name)
	}
}

func TestURLPassword(t *testing.T) {
	t.Parallel()
	assert.Equal(t, URLPassword("http://u:pw123@host:8000/v1"), "pw123")
	assert.Equal(t, URLPassword("http://u@host"), "")
	assert.Equal(t, URLPassword("http://host"), "")
	assert.Equal(t, URLCredential("http://u:pw123@host"), "pw123")
	assert.Equal(t, URLCredential("https://ghp_token1234@host"), "ghp_token1234")
	assert.Equal(t, URLCredential("https://host"), "")
}

// One rule for URLs everywhere: the user name stays, the password goes; a
// user name alone is a token and goes.
func TestRedactURL(t *testing.T) {
	t.Parallel()
	assert.Equal(t, RedactURL("http://u:pw123@host:8000/v1"), "http://u:[redacted]@host:8000/v1")
	assert.Equal(t, RedactURL("http://u:p@h/metrics"), "http://u:[redacted]@h/metrics")
	assert.Equal(t, RedactURL("https://sk-live-123456@host/v1"), "https://[redacted]@host/v1")
	assert.Equal(t, RedactURL("http://sk-abc123:@host:8000"), "http://[redacted]@host:8000", "a token as the user name, empty password")
	assert.Equal(t, URLCredential("http://sk-abc123:@host:8000"), "sk-abc123")
	assert.Equal(t, RedactURL("http://host:8000"), "http://host:8000")
	assert.Equal(t, RedactURL("not a url"), "not a url")
	assert.Equal(t, RedactURL("http://u:pw%zz@host"), "http://u:[redacted]@host", "an unparsable URL is redacted as text")
}

func TestRedactURLs(t *testing.T) {
	t.Parallel()
	assert.Equal(t, RedactURLs("waiting for http://u:pw@127.0.0.1:80/x and https://a:b@h now"),
		"waiting for http://u:[redacted]@127.0.0.1:80/x and https://a:[redacted]@h now")
	assert.Equal(t, RedactURLs("mail me at a@b.c, see http://h/"), "mail me at a@b.c, see http://h/")
	assert.Equal(t, RedactURLs("GET https://tok12345@h/v1: 401"), "GET https://[redacted]@h/v1: 401")
	assert.Equal(t, RedactURLs("GET https://tok12345:@h/v1: 401"), "GET https://[redacted]@h/v1: 401")
	assert.Equal(t, RedactURLs("see http://h/?q=a@b"), "see http://h/?q=a@b", "an @ after the host is no user")
	assert.Equal(t, RedactURLs(`=HYPERLINK("http://x")|<b>@octocat`), `=HYPERLINK("http://x")|<b>@octocat`, "quotes and tags are no userinfo")
}

func TestRedactorString(t *testing.T) {
	t.Parallel()
	r := NewRedactor("sk-live-123456", "sk-live-123456-long", "ms", "")
	assert.DeepEqual(t, r.Values(), []string{"sk-live-123456-long", "sk-live-123456"})
	assert.Equal(t, r.String("key sk-live-123456-long and sk-live-123456 in 200ms"), "key [redacted] and [redacted] in 200ms")
	assert.Equal(t, r.String("Authorization: Bearer abc.def-123"), "Authorization: Bearer [redacted]")
	assert.Equal(t, r.String("uses Bearer authentication"), "uses Bearer authentication", "prose is kept")
	var none *Redactor
	assert.Equal(t, none.String("http://u:pw@h"), "http://u:[redacted]@h")
	assert.Equal(t, none.With("abcd").String("abcd"), Redacted)
}

func TestRedactorArgs(t *testing.T) {
	t.Parallel()
	r := NewRedactor("hf_abcdef", "sk-12345")
	assert.DeepEqual(t, r.Args([]string{"--api-key", "x", "--hf-token=y", "--max-model-len", "8192", "http://u:pw@h/", "tok hf_abcdef"}),
		[]string{"--api-key", Redacted, "--hf-token=" + Redacted, "--max-model-len", "8192", "http://u:" + Redacted + "@h/", "tok " + Redacted})
	assert.DeepEqual(t, r.Args([]string{"curl", "-H", "Authorization: Bearer xyz123", "-H", "X-Api-Key: k", "-H", "Accept: json", "HF_TOKEN=abc", "MAX_TOKENS=5"}),
		[]string{"curl", "-H", "Authorization: " + Redacted, "-H", "X-Api-Key: " + Redacted, "-H", "Accept: json", "HF_TOKEN=" + Redacted, "MAX_TOKENS=5"})
	assert.DeepEqual(t, r.Args([]string{"sh", "-c", "HF_TOKEN=abc exec vllm serve m --api-key 'k1' --port 8000 --hf-token=zz"}),
		[]string{"sh", "-c", "HF_TOKEN=" + Redacted + " exec vllm serve m --api-key '" + Redacted + "' --port 8000 --hf-token=" + Redacted})
	assert.DeepEqual(t, r.Args([]string{"serve", "--api-key"}), []string{"serve", "--api-key"}) // a flag with no value
	assert.Assert(t, r.Args(nil) == nil)
}

func TestRedactorEnvAndHeaders(t *testing.T) {
	t.Parallel()
	r := NewRedactor("sk-12345")
	assert.DeepEqual(t, r.Env(map[string]string{"HF_TOKEN": "x", "MAX_INPUT_TOKENS": "4096", "NOTE": "key sk-12345", "EMPTY_KEY": ""}),
		map[string]string{"HF_TOKEN": Redacted, "MAX_INPUT_TOKENS": "4096", "NOTE": "key " + Redacted, "EMPTY_KEY": ""})
	assert.DeepEqual(t, r.Headers(map[string]string{"X-Team": "perf"}), map[string]string{"X-Team": Redacted})
}

func TestRedactorJSON(t *testing.T) {
	t.Parallel()
	r := NewRedactor("sk-live-123456")
	v := map[string]any{
		"url":     "https://user:hunter22@llm.example:8000",
		"api_key": "short",
		"headers": map[string]string{"X-Team": "perf"},
		"env":     map[string]string{"HF_TOKEN": "t", "N": "4", "NOTE": "is sk-live-123456"},
		"command": []string{"vllm", "--api-key", "abc"},
		"request": map[string]any{"extra_body": map[string]any{"user": "sk-live-123456"}},
		"rate":    2.5,
	}
	raw, err := r.JSON(v)
	assert.NilError(t, err)
	s := string(raw)
	for _, leak := range []string{"hunter22", "short", "perf", `"t"`, "abc", "sk-live-123456"} {
		assert.Assert(t, !strings.Contains(s, leak), "%s leaked: %s", leak, s)
	}
	var back map[string]any
	assert.NilError(t, json.Unmarshal(raw, &back))
	assert.Equal(t, back["url"], "https://user:[redacted]@llm.example:8000")
	assert.Assert(t, is.Contains(s, `"rate":2.5`))
	assert.Assert(t, is.Contains(s, `"N":"4"`))
}

func TestRedactorInPlace(t *testing.T) {
	t.Parallel()
	type inner struct {
		Err     string
		Reasons map[string]int
		Any     map[string]any
		Raw     json.RawMessage
	}
	type outer struct {
		Name  string
		In    *inner
		List  []inner
		Plain string
		skip  string
	}
	o := &outer{Name: "run sk-live-123456", In: &inner{Err: "auth sk-live-123456 refused",
		Reasons: map[string]int{"auth sk-live-123456 refused": 2, "auth [redacted] refused": 1, "timeout": 1},
		Any:     map[string]any{"k": "v sk-live-123456"}, Raw: json.RawMessage(`"sk-live-123456"`)},
		List: []inner{{Err: "sk-live-123456"}}, Plain: "200ms", skip: "sk-live-123456"}
	NewRedactor("sk-live-123456", "ms").InPlace(o)
	assert.Equal(t, o.Name, "run [redacted]")
	assert.Equal(t, o.In.Err, "auth [redacted] refused")
	assert.DeepEqual(t, o.In.Reasons, map[string]int{"auth [redacted] refused": 3, "timeout": 1})
	assert.Equal(t, o.In.Any["k"], "v [redacted]")
	assert.Equal(t, string(o.In.Raw), `"sk-live-123456"`, "bytes are left as they are")
	assert.Equal(t, o.List[0].Err, Redacted)
	assert.Equal(t, o.Plain, "200ms", "secrets under MinLen bytes are not replaced in text")
	NewRedactor().InPlace(nil)
	(*Redactor)(nil).InPlace(o)
}
