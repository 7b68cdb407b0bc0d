package reporters

import (
	"bytes"
	"encoding/json"
	"reflect"
	"sort"
	"strings"

	"github.com/benchplan/benchplan/internal/secret"
	"github.com/benchplan/benchplan/results"
)

// Redacted replaces every secret in the reports.
const Redacted = "[redacted]"

// minSecretLen is the shortest secret value replaced wherever it occurs:
// shorter ones would garble ordinary text, and are redacted only where
// they stand in a credential field.
const minSecretLen = 4

// PlanConfig renders a loaded plan as the JSON echoed in results.json
// (Run.PlanConfig), with secrets redacted:
//
//   - every "api_key" value;
//   - every value under "headers";
//   - values under "env" whose name looks secret (HF_TOKEN, API_KEY,
//     PASSWORD, ...; MAX_INPUT_TOKENS is not);
//   - in "args", the value after (or in) an option whose name looks secret
//     ("--api-key X", "--hf-token=X");
//   - the password of a URL with credentials;
//   - and any occurrence of a value of secrets (the values interpolated
//     from the environment into credential fields) anywhere.
//
// plan is any value that marshals to JSON (a *plan.Plan).
func PlanConfig(plan any, secrets []string) (json.RawMessage, error) {
	b, err := json.Marshal(plan)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	v = redactJSON(v, "", secrets)
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return json.RawMessage(bytes.TrimRight(out.Bytes(), "\n")), nil
}

func redactJSON(v any, key string, secrets []string) any {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			switch {
			case k == "api_key" || k == "apikey" || k == "token" || k == "password":
				if s, ok := val.(string); ok && s != "" {
					x[k] = Redacted
					continue
				}
			case k == "headers":
				if m, ok := val.(map[string]any); ok {
					for hk := range m {
						m[hk] = Redacted
					}
					continue
				}
			case k == "env":
				if m, ok := val.(map[string]any); ok {
					for ek, ev := range m {
						if secret.LooksSecret(ek) {
							m[ek] = Redacted
						} else {
							m[ek] = redactJSON(ev, ek, secrets)
						}
					}
					continue
				}
			case k == "args" || k == "command":
				if l, ok := val.([]any); ok {
					x[k] = redactArgs(l, secrets)
					continue
				}
			}
			x[k] = redactJSON(val, k, secrets)
		}
		return x
	case []any:
		for i := range x {
			x[i] = redactJSON(x[i], key, secrets)
		}
		return x
	case string:
		return RedactString(secret.RedactURL(x), secrets)
	}
	return v
}

// RedactArgs returns a command line with the values of secret-looking
// options ("--api-key X", "--hf-token=X"), credentials in URLs and every
// secret value redacted.
func RedactArgs(args []string, secrets []string) []string {
	l := make([]any, len(args))
	for i, a := range args {
		l[i] = a
	}
	l = redactArgs(l, secrets)
	out := make([]string, len(l))
	for i, a := range l {
		out[i], _ = a.(string)
	}
	return out
}

// redactArgs redacts the values of secret-looking options in a command line.
func redactArgs(args []any, secrets []string) []any {
	next := false
	for i, a := range args {
		s, ok := a.(string)
		if !ok {
			continue
		}
		if next {
			args[i] = Redacted
			next = false
			continue
		}
		if strings.HasPrefix(s, "-") {
			name, _, hasValue := strings.Cut(strings.TrimLeft(s, "-"), "=")
			if secret.LooksSecret(name) {
				if hasValue {
					args[i] = s[:strings.Index(s, "=")+1] + Redacted
				} else {
					next = true
				}
				continue
			}
		}
		args[i] = RedactString(secret.RedactURL(s), secrets)
	}
	return args
}

// RedactString replaces every occurrence of each secret (at least
// minSecretLen bytes long) in s with "[redacted]", longest secrets first.
func RedactString(s string, secrets []string) string {
	for _, sec := range sortedSecrets(secrets) {
		s = strings.ReplaceAll(s, sec, Redacted)
	}
	return s
}

func sortedSecrets(secrets []string) []string {
	var out []string
	for _, s := range secrets {
		if len(s) >= minSecretLen {
			out = append(out, s)
		}
	}
	sort.Slice(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out
}

// RedactRun replaces every occurrence of a secret in every string of run
// (messages, errors, names, URLs, map keys), in place, so that no report
// rendered from it can show one. Run.PlanConfig is left as is: PlanConfig
// redacts it when it is made.
func RedactRun(run *results.Run, secrets []string) {
	secrets = sortedSecrets(secrets)
	if run == nil || len(secrets) == 0 {
		return
	}
	redactValue(reflect.ValueOf(run).Elem(), secrets)
}

func redactValue(v reflect.Value, secrets []string) {
	switch v.Kind() {
	case reflect.String:
		if v.CanSet() {
			if s := v.String(); s != "" {
				if r := RedactString(s, secrets); r != s {
					v.SetString(r)
				}
			}
		}
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			redactValue(v.Elem(), secrets)
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				redactValue(v.Field(i), secrets)
			}
		}
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return // json.RawMessage and other bytes
		}
		for i := 0; i < v.Len(); i++ {
			redactValue(v.Index(i), secrets)
		}
	case reflect.Array:
		for i := 0; i < v.Len(); i++ {
			redactValue(v.Index(i), secrets)
		}
	case reflect.Map:
		if v.IsNil() {
			return
		}
		for _, k := range v.MapKeys() {
			val := reflect.New(v.Type().Elem()).Elem()
			val.Set(v.MapIndex(k))
			redactValue(val, secrets)
			nk := k
			if k.Kind() == reflect.String {
				if r := RedactString(k.String(), secrets); r != k.String() {
					nk = reflect.New(k.Type()).Elem()
					nk.SetString(r)
				}
			}
			v.SetMapIndex(k, reflect.Value{})
			if old := v.MapIndex(nk); old.IsValid() && val.CanInt() {
				val.SetInt(val.Int() + old.Int()) // two keys became one: add their counts
			}
			v.SetMapIndex(nk, val)
		}
	}
}
