package plan

import (
	"strings"
	"testing"

	"github.com/goccy/go-yaml/ast"
)

// FuzzPrescan checks that the prescan bounds what the parser builds: a
// text it lets through parses into a document no deeper than a constant
// factor of MaxDepth, and no block mapping with more keys than a constant
// factor of MaxMappingKeys (the parser's cost grows with the square of
// both).
func FuzzPrescan(f *testing.F) {
	f.Add([]byte("a:\n  - b: [c, {d: e}]\n  - 'f''g': \"h\\\"[\"\n    i: |\n      [[[\n"))
	f.Add([]byte("- - - [[{a: [b]}]]\n"))
	f.Add([]byte(strings.Repeat("[", 64) + strings.Repeat("]", 64)))
	f.Add([]byte("k: !t &a [*a, ? x : y]\n--- \n" + strings.Repeat(" ", 3) + "z: >-\n  w\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		if prescan(src) != nil {
			return
		}
		file, err := parseYAML(src)
		if err != nil {
			return
		}
		var depth func(n ast.Node, d int)
		depth = func(n ast.Node, d int) {
			if d > 3*MaxDepth {
				t.Fatalf("the prescan let through a document deeper than %d", 3*MaxDepth)
			}
			switch v := n.(type) {
			case *ast.MappingNode:
				if !v.IsFlowStyle && len(v.Values) > 2*MaxMappingKeys {
					t.Fatalf("the prescan let through a block mapping of %d keys", len(v.Values))
				}
				for _, mv := range v.Values {
					depth(mv.Key, d+1)
					depth(mv.Value, d+1)
				}
			case *ast.MappingValueNode:
				depth(v.Key, d+1)
				depth(v.Value, d+1)
			case *ast.SequenceNode:
				for _, item := range v.Values {
					depth(item, d+1)
				}
			case *ast.AnchorNode:
				depth(v.Value, d)
			case *ast.TagNode:
				depth(v.Value, d)
			case *ast.MappingKeyNode:
				depth(v.Value, d+1)
			}
		}
		for _, doc := range file.Docs {
			if doc != nil {
				depth(doc.Body, 0)
			}
		}
	})
}
