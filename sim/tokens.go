package sim

import (
	"unicode"
	"unicode/utf8"
)

// CountTokens is the simulator's documented deterministic tokenizer: it
// returns the number of whitespace-separated words in s, which is always
// len(strings.Fields(s)). Prompt and completion token counts in usage and
// the /tokenize endpoint all use it. It does not allocate.
func CountTokens(s string) int {
	n := 0
	inWord := false
	for i := 0; i < len(s); {
		c := s[i]
		var space bool
		if c < utf8.RuneSelf {
			space = asciiSpace[c]
			i++
		} else {
			r, size := utf8.DecodeRuneInString(s[i:])
			space = unicode.IsSpace(r)
			i += size
		}
		if space {
			inWord = false
		} else if !inWord {
			inWord = true
			n++
		}
	}
	return n
}

var asciiSpace = [utf8.RuneSelf]bool{'\t': true, '\n': true, '\v': true, '\f': true, '\r': true, ' ': true}

// vocabSize bounds the token ids reported by /tokenize.
const vocabSize = 32000

// appendTokenIDs appends, comma separated, one deterministic token id per
// word of s (a hash of the word's bytes), in the range [100, vocabSize).
func appendTokenIDs(b []byte, s string, first bool) ([]byte, bool) {
	inWord := false
	var h uint64
	emit := func() {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = appendUint(b, 100+mix64(h)%(vocabSize-100))
	}
	for i := 0; i < len(s); {
		c := s[i]
		var space bool
		size := 1
		if c < utf8.RuneSelf {
			space = asciiSpace[c]
		} else {
			var r rune
			r, size = utf8.DecodeRuneInString(s[i:])
			space = unicode.IsSpace(r)
		}
		if space {
			if inWord {
				emit()
			}
			inWord = false
		} else {
			if !inWord {
				inWord = true
				h = fnvOffset
			}
			for j := i; j < i+size; j++ {
				h = (h ^ uint64(s[j])) * fnvPrime
			}
		}
		i += size
	}
	if inWord {
		emit()
	}
	return b, first
}

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

// mix64 is the splitmix64 finalizer.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// promptHash hashes the prompt text, given as parts that are joined by "\n",
// with FNV-1a, without building the joined string.
func promptHash(parts []string) uint64 {
	h := uint64(fnvOffset)
	for i, p := range parts {
		if i > 0 {
			h = (h ^ '\n') * fnvPrime
		}
		for j := 0; j < len(p); j++ {
			h = (h ^ uint64(p[j])) * fnvPrime
		}
	}
	return h
}

// seeded combines a prompt hash with the configured seed.
func seeded(seed int64, h uint64) uint64 {
	return mix64(h ^ mix64(uint64(seed)+0x9e3779b97f4a7c15))
}

// NaturalLength returns the number of tokens the simulator generates for
// prompt text prompt under Config.Seed seed before "sampling EOS", that is
// when neither ignore_eos nor a smaller maximum applies. It is a
// deterministic value in [MinNaturalTokens, MaxNaturalTokens]. The prompt
// text of a chat request is the contents of its messages joined by "\n"
// (see the package documentation).
func NaturalLength(seed int64, prompt string) int {
	return naturalFromHash(seeded(seed, promptHash([]string{prompt})))
}

func naturalFromHash(h uint64) int {
	return MinNaturalTokens + int(h%uint64(MaxNaturalTokens-MinNaturalTokens+1))
}

// words is the fixed vocabulary generated text is drawn from. Every entry is
// lower-case ASCII letters only, so it needs no JSON escaping and contains no
// whitespace.
var words = [...]string{
	"lorem", "ipsum", "dolor", "sit", "amet", "consectetur", "adipiscing", "elit",
	"sed", "do", "eiusmod", "tempor", "incididunt", "ut", "labore", "et",
	"dolore", "magna", "aliqua", "enim", "ad", "minim", "veniam", "quis",
	"nostrud", "exercitation", "ullamco", "laboris", "nisi", "aliquip", "ex", "ea",
	"commodo", "consequat", "duis", "aute", "irure", "in", "reprehenderit", "voluptate",
	"velit", "esse", "cillum", "eu", "fugiat", "nulla", "pariatur", "excepteur",
	"sint", "occaecat", "cupidatat", "non", "proident", "sunt", "culpa", "qui",
	"officia", "deserunt", "mollit", "anim", "id", "est", "laborum", "vitae",
}

// quotedWords holds each word preceded by a space as a JSON string literal,
// for example `" lorem"`.
var quotedWords = func() [len(words)][]byte {
	var q [len(words)][]byte
	for i, w := range words {
		q[i] = []byte(`" ` + w + `"`)
	}
	return q
}()
