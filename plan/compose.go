package plan

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/goccy/go-yaml/ast"

	"github.com/benchplan/benchplan/internal/regular"
	"github.com/benchplan/benchplan/internal/secret"
)

// ServersFile is a file of server setups (plans/servers/*.yaml), composed
// with any plan by `--servers FILE`.
type ServersFile struct {
	Version int                `yaml:"version" json:"version"`
	Servers map[string]*Server `yaml:"servers" json:"servers"`
	// Secrets are credentials interpolated into the file; reporters redact them.
	Secrets []string `yaml:"-" json:"-"`
}

// ReadServers reads a servers file and checks its servers.
func ReadServers(path string, opts Options) (*ServersFile, error) {
	src, err := readBounded(path, "servers")
	if err != nil {
		return nil, err
	}
	sp := &Plan{File: path, Source: src}
	var sf ServersFile
	o := opts
	o.Sets = nil
	var es Errors
	if err := sp.decode(&sp.ast, src, o, reflect.TypeFor[ServersFile](), &sf); err != nil {
		var pe *partialError
		if !errors.As(err, &pe) {
			if es, ok := err.(Errors); ok {
				return nil, sp.redact(es)
			}
			return nil, err
		}
		es = pe.es
	}
	sp.Servers = sf.Servers
	if sf.Version != 1 {
		es = append(es, sp.ErrorAt(0, "a servers file starts with `version: 1`", "$.version", "$"))
	}
	if len(sf.Servers) == 0 {
		es = append(es, sp.ErrorAt(0, "no servers: declare them under `servers:`", "$.servers", "$"))
	}
	es = append(es, sp.checkServers()...)
	if len(es) > 0 {
		return nil, sp.redact(es.sorted())
	}
	sf.Secrets = sp.Secrets // URL passwords: Parse adds them for every server
	return &sf, nil
}

// IsServersFile reports whether the YAML at path is a servers file (its
// keys are servers and version, nothing a plan has besides) rather than a
// plan, however mistaken.
//
// Only the top-level keys are read, within the bounds a plan is read in: a
// file too large, too deep or too wide for them is no servers file, and
// reading it as a plan reports why.
func IsServersFile(path string) bool {
	src, err := regular.ReadFile(path, MaxPlanBytes)
	if err != nil {
		return false
	}
	src = bytes.TrimPrefix(src, []byte("\xef\xbb\xbf"))
	if prescan(src) != nil {
		return false
	}
	f, err := parseYAML(src)
	if err != nil || len(f.Docs) != 1 {
		return false
	}
	var keys []string
	switch m := unwrap(f.Docs[0].Body).(type) {
	case *ast.MappingNode:
		for _, mv := range m.Values {
			keys = append(keys, scalarText(mv.Key))
		}
	case *ast.MappingValueNode:
		keys = append(keys, scalarText(m.Key))
	}
	if !slices.Contains(keys, "servers") {
		return false
	}
	for _, k := range keys {
		if k != "servers" && k != "version" {
			return false
		}
	}
	return true
}

// replaceServers swaps in a servers file's servers. With a single server,
// every scenario runs against it whatever server it named.
func (p *Plan) replaceServers(servers map[string]*Server) {
	p.Servers = servers
	if len(servers) != 1 {
		return
	}
	var only string
	for name := range servers {
		only = name
	}
	if p.Defaults != nil {
		p.Defaults.Server = only
	}
	for _, sc := range p.Scenarios {
		if sc != nil {
			sc.Server = only
		}
	}
}

// simulate replaces every server with the built-in simulator serving the
// same model name, so that a plan can be dry-run without a GPU.
func (p *Plan) simulate() {
	p.Simulated = true
	for name, s := range p.Servers {
		if s.Kind() == KindSim {
			continue
		}
		model := s.Model
		if model == "" {
			for _, sc := range p.Scenarios {
				if sc.Server == name && sc.Model != "" {
					model = sc.Model
					break
				}
			}
		}
		adapters := p.mixAdapters(name, &model)
		sm := &Sim{Profile: simProfileFor(model, s.Args), LoraAdapters: adapters}
		if gen := engineForImage(s.Image); sm.Profile != "" && gen != "" {
			sm.Engine = &gen
		}
		if model != "" {
			sm.Model = &model
		}
		p.Servers[name] = &Server{Sim: sm}
	}
}

// serverNames returns the servers' names in order.
func (p *Plan) serverNames() []string {
	names := make([]string, 0, len(p.Servers))
	for name := range p.Servers {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// kindFields says which server fields each kind accepts.
var kindFields = map[string][]string{
	KindContainer:  {"on", "preset", "image", "model", "args", "env", "gpus", "port", "health", "startup_timeout", "shm_size", "volumes", "hf_cache", "pull", "restart", "api_key", "headers"},
	KindKubernetes: {"on", "kubernetes", "preset", "image", "model", "args", "env", "gpus", "port", "health", "startup_timeout", "shm_size", "pull", "restart", "api_key", "headers"},
	KindProcess:    {"command", "args", "env", "workdir", "url", "health", "startup_timeout", "restart", "model", "api_key", "headers"},
	KindURL:        {"url", "api_key", "headers", "model", "health", "startup_timeout"},
	KindSim:        {"sim"},
}

func (p *Plan) checkServers() Errors {
	var es Errors
	add := func(msg string, paths ...string) { es = append(es, p.ErrorAt(0, msg, paths...)) }
	for _, name := range p.serverNames() {
		s := p.Servers[name]
		at := "$.servers." + Key(name)
		if i, r := controlChar(name); i >= 0 {
			es = append(es, p.keyError(i, nameMsg("the server name", name, i, r), "$.servers", name))
		}
		if s == nil {
			add(fmt.Sprintf("server %q is empty: give it `url:`, `sim:`, `command:` or `preset:`", name), at)
			continue
		}
		kind := s.Kind()
		allowed := kindFields[kind]
		v := reflect.ValueOf(s).Elem()
		t := v.Type()
		for i := range t.NumField() {
			tag := strings.Split(t.Field(i).Tag.Get("yaml"), ",")[0]
			if tag == "" || tag == "-" || v.Field(i).IsZero() || slices.Contains(allowed, tag) {
				continue
			}
			msg := fmt.Sprintf("server %q is a %s server (%s); %s does not apply to it", name, kind, kindReason(kind), tag)
			switch {
			case kind == KindKubernetes && tag == "hf_cache":
				msg += ": give kubernetes.hf_cache: {pvc: CLAIM} or {host_path: /dir/on/the/node}"
			case kind == KindKubernetes && tag == "volumes":
				msg += ": a Pod has no host bind mounts (kubernetes.hf_cache mounts a claim or a node path)"
			case tag == "on":
				msg += " (on: chooses where a preset or image server runs)"
			}
			add(msg, at+"."+tag, at)
		}
		if s.On != "" && s.On != OnDocker && s.On != OnKubernetes {
			add(fmt.Sprintf("on must be docker or kubernetes, got %q", s.On), at+".on")
		}
		switch kind {
		case KindContainer, KindKubernetes:
			if kind == KindKubernetes {
				checkKubernetes(name, s, at, add)
				if s.Preset == "" && s.Image == "" {
					break
				}
			}
			if s.Preset != "" && s.Preset != "vllm" && s.Preset != "tgi" {
				add(fmt.Sprintf("unknown preset %q: use vllm or tgi, or give an image without a preset", s.Preset), at+".preset")
			}
			if s.Preset != "" && s.Model == "" {
				add(fmt.Sprintf("server %q: the %s preset needs `model:` (a Hugging Face model id)", name, s.Preset), at+".preset")
			}
			if s.Preset == "" && s.Port == 0 {
				add(fmt.Sprintf("server %q: a container without a preset needs `port:` (the port it serves inside the container)", name), at+".image")
			}
			if s.Pull != "" && !slices.Contains([]string{"never", "missing", "always"}, s.Pull) {
				add(fmt.Sprintf("pull must be never, missing or always, got %q", s.Pull), at+".pull")
			}
			for i, vol := range s.Volumes {
				if parts := strings.Split(vol, ":"); len(parts) < 2 || len(parts) > 3 || parts[0] == "" || !strings.HasPrefix(parts[1], "/") {
					add(fmt.Sprintf("volume %q: write HOST:CONTAINER or HOST:CONTAINER:ro, with an absolute container path", vol), fmt.Sprintf("%s.volumes[%d]", at, i))
				}
			}
		case KindProcess:
			if s.URL == "" {
				add(fmt.Sprintf("server %q: a process needs `url:`, where it will serve (e.g. http://127.0.0.1:8000)", name), at+".command")
			}
		case KindURL:
			if s.URL == "" {
				add(fmt.Sprintf("server %q needs `url:` (a running server), `sim:` (the built-in simulator), `command:` (a local process) or `preset:` (a container)", name), at)
			}
		case KindSim:
			for _, pr := range checkSim(s.Sim) {
				add(fmt.Sprintf("sim.%s: %s", pr.Key, pr.Message), at+".sim."+pr.Key, at+".sim")
			}
		}
		if s.URL != "" {
			if u, err := url.Parse(s.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				add(fmt.Sprintf("server %q: url %q is not an http(s) URL like http://127.0.0.1:8000", name, secret.RedactURL(s.URL)), at+".url")
			} else if path := strings.TrimRight(u.Path, "/"); strings.HasSuffix(path, "/v1") {
				// Requests go to URL/v1/chat/completions, readiness to
				// URL/v1/models: a URL ending in /v1 asks for /v1/v1/models
				// and fails on a 404 after the whole startup timeout.
				u.Path = strings.TrimSuffix(path, "/v1")
				u.RawPath = ""
				add(fmt.Sprintf("server %q: url %q ends in /v1, which benchplan adds itself (it would ask for /v1/v1/models): write %q", name, secret.RedactURL(s.URL), secret.RedactURL(u.String())), at+".url")
			}
		}
		for _, h := range slices.Sorted(maps.Keys(s.Headers)) {
			if h == "" {
				es = append(es, p.keyError(0, "an empty header name", at+".headers", h))
			} else if i := badHeaderName(h); i >= 0 {
				es = append(es, p.keyError(i, fmt.Sprintf("header name %s is not an HTTP field name: it holds %s at byte %d (letters, digits and !#$%%&'*+-.^_`|~ only)", strconv.Quote(h), describeByte(h, i), i), at+".headers", h))
			}
			if i := badHeaderValue(s.Headers[h]); i >= 0 {
				// The value may be a credential: its position says where,
				// never its text.
				es = append(es, p.ErrorAt(i, fmt.Sprintf("the value of header %s holds %s at byte %d, which HTTP forbids in a header", strconv.Quote(h), describeByte(s.Headers[h], i), i), at+".headers."+Key(h)))
			}
		}
		if s.Health != "" && !strings.HasPrefix(s.Health, "/") {
			add(fmt.Sprintf("health must be a path starting with /, got %q", s.Health), at+".health")
		}
		if s.Port < 0 || s.Port > 65535 {
			add(fmt.Sprintf("port must be in 1..65535, got %d", s.Port), at+".port")
		}
		if s.StartupTimeout != nil && s.StartupTimeout.D() <= 0 {
			add("startup_timeout must be positive", at+".startup_timeout")
		}
		if s.Restart != "" && s.Restart != RestartShared && s.Restart != RestartPerScenario {
			add(fmt.Sprintf("restart must be shared or per_scenario, got %q", s.Restart), at+".restart")
		}
	}
	return es
}

// SimProblem is a mistake in a sim: block, by key.
type SimProblem struct {
	Key, Message string
}

func kindReason(kind string) string {
	switch kind {
	case KindContainer:
		return "it has preset or image"
	case KindKubernetes:
		return "it has on: kubernetes"
	case KindProcess:
		return "it has command"
	case KindSim:
		return "it has sim"
	}
	return "it has only url"
}

// badHeaderName is the byte offset of the first byte of name that an HTTP
// field name (an RFC 9110 token) cannot hold, or -1; an empty name is bad
// at 0.
func badHeaderName(name string) int {
	if name == "" {
		return 0
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0 {
			continue
		}
		return i
	}
	return -1
}

// badHeaderValue is the byte offset of the first control character (CR,
// LF, NUL, ...; a tab is allowed) in a header value, or -1.
func badHeaderValue(v string) int {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 && c != '\t' || c == 0x7f {
			return i
		}
	}
	return -1
}

// describeByte names the character at byte i of s for a message.
func describeByte(s string, i int) string {
	if i < 0 || i >= len(s) {
		return "nothing"
	}
	switch c := s[i]; c {
	case '\r':
		return "a carriage return (CR)"
	case '\n':
		return "a line feed (LF)"
	case 0:
		return "a NUL byte"
	case ' ':
		return "a space"
	default:
		r, _ := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError || r < 0x20 || r == 0x7f {
			return fmt.Sprintf("the byte %#02x", c)
		}
		return fmt.Sprintf("%q", r)
	}
}

// keyError makes an Error at a key of the mapping at path, byte offset i
// into the key; at the mapping when the key is not found (a --servers
// file's key, a --set one).
func (p *Plan) keyError(i int, msg, path, key string) *Error {
	n := p.node(path)
	for _, mv := range mappingValues(n) {
		if scalarText(mv.Key) == key {
			return p.errAtOffset(mv.Key.GetToken(), key, i, msg)
		}
	}
	return p.ErrorAt(0, msg, path)
}
