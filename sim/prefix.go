package sim

import (
	"unicode"
	"unicode/utf8"
)

// appendBlockHashes appends one hash per whole block of blockSize words of
// the prompt given as parts (joined by "\n"). The hash of block i covers
// every word from the start of the prompt to the end of block i, so two
// prompts share block i's hash only when their first (i+1)×blockSize words
// are the same (up to hash collisions).
func appendBlockHashes(dst []uint64, parts []string, blockSize int) []uint64 {
	h := newBlockHasher(dst, blockSize)
	for _, s := range parts {
		h.part(s)
	}
	return h.dst
}

// blockHasher hashes words into a chain of block hashes (see
// appendBlockHashes).
type blockHasher struct {
	dst        []uint64
	chain, acc uint64
	n, block   int
}

func newBlockHasher(dst []uint64, blockSize int) *blockHasher {
	return &blockHasher{dst: dst, chain: 0x6a09e667f3bcc908, acc: fnvOffset, block: blockSize}
}

// forAdapter makes the hashes those of LoRA adapter lora (its index + 1;
// 0: the served model): vLLM's block hash includes the adapter, so two
// adapters never share a cached block.
func (h *blockHasher) forAdapter(lora int) *blockHasher {
	if lora > 0 {
		h.chain = mix64(h.chain ^ uint64(lora))
	}
	return h
}

func (h *blockHasher) endWord() {
	h.n++
	h.acc = (h.acc ^ ' ') * fnvPrime
	if h.n == h.block {
		h.chain = mix64(h.chain ^ mix64(h.acc))
		h.dst = append(h.dst, h.chain)
		h.acc, h.n = fnvOffset, 0
	}
}

// part hashes the words of one part of a prompt; a part's end ends a word.
func (h *blockHasher) part(s string) {
	inWord := false
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
				h.endWord()
			}
			inWord = false
		} else {
			inWord = true
			for j := i; j < i+size; j++ {
				h.acc = (h.acc ^ uint64(s[j])) * fnvPrime
			}
		}
		i += size
	}
	if inWord {
		h.endWord()
	}
}

// generated hashes n generated tokens, the words the simulator streams
// from words[start] on: the same words, sent back as a part of a later
// prompt (a multi-turn session's history), hash the same.
func (h *blockHasher) generated(start, n int) {
	for k := range n {
		w := words[(start+k)%len(words)]
		for j := 0; j < len(w); j++ {
			h.acc = (h.acc ^ uint64(w[j])) * fnvPrime
		}
		h.endWord()
	}
}

// prefixCache remembers block hashes, least recently used first out. It is
// used by the engine goroutine only.
type prefixCache struct {
	capacity int // blocks
	nodes    map[uint64]*pcNode
	head     pcNode // sentinel: head.next is the most recently used
}

type pcNode struct {
	key        uint64
	prev, next *pcNode
}

func newPrefixCache(capacityBlocks int) *prefixCache {
	p := &prefixCache{capacity: max(capacityBlocks, 1), nodes: make(map[uint64]*pcNode)}
	p.head.prev, p.head.next = &p.head, &p.head
	return p
}

func (p *prefixCache) unlink(n *pcNode) {
	n.prev.next = n.next
	n.next.prev = n.prev
}

func (p *prefixCache) pushFront(n *pcNode) {
	n.prev = &p.head
	n.next = p.head.next
	p.head.next.prev = n
	p.head.next = n
}

// lookup returns how many leading blocks of hashes are cached and marks
// them recently used.
func (p *prefixCache) lookup(hashes []uint64) int {
	for i, h := range hashes {
		n, ok := p.nodes[h]
		if !ok {
			return i
		}
		p.unlink(n)
		p.pushFront(n)
	}
	return len(hashes)
}

// insert caches every block of hashes, evicting the least recently used
// blocks beyond capacity.
func (p *prefixCache) insert(hashes []uint64) {
	for _, h := range hashes {
		if n, ok := p.nodes[h]; ok {
			p.unlink(n)
			p.pushFront(n)
			continue
		}
		var n *pcNode
		if len(p.nodes) >= p.capacity {
			n = p.head.prev
			p.unlink(n)
			delete(p.nodes, n.key)
		} else {
			n = new(pcNode)
		}
		n.key = h
		p.nodes[h] = n
		p.pushFront(n)
	}
}
