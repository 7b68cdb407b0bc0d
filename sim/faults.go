package sim

// fault is the failure injected into one generation request.
type fault uint8

const (
	faultNone fault = iota
	fault500
	fault429
	faultStall
	faultDrop
	faultMalformed
)

// pickFault decides the fault of the next generation request that passed
// validation, and the content token index before which a stream fault
// happens, in [1, n-1] (0 when n is 1). Request i (counting from 1 in
// arrival order) draws u_i = mix64(i ^ key(Seed)) / 2^64 and gets, in
// order, a 500 when u_i < ErrorRate500, a 429 when u_i < ErrorRate500 +
// ErrorRate429, and so on through StallRate, DropRate and MalformedRate:
// the faults are exclusive and deterministic given the seed and the order
// of arrival.
func (s *Server) pickFault(n int) (fault, int) {
	i := s.faultCtr.Add(1)
	h := mix64(i ^ s.faultKey)
	u := float64(h>>11) / (1 << 53)
	at := 0
	if n > 1 {
		at = 1 + int(mix64(h)%uint64(n-1))
	}
	c := &s.cfg
	for _, f := range [...]struct {
		rate float64
		f    fault
	}{{c.ErrorRate500, fault500}, {c.ErrorRate429, fault429}, {c.StallRate, faultStall}, {c.DropRate, faultDrop}, {c.MalformedRate, faultMalformed}} {
		if u < f.rate {
			return f.f, at
		}
		u -= f.rate
	}
	return faultNone, 0
}

// appendMalformed appends a data line whose JSON is cut in the middle of a
// chunk, as a broken proxy or a server bug would send it.
func (s *Server) appendMalformed(b []byte, g *gen) []byte {
	b = append(b, g.prefix...)
	if g.chat {
		b = append(b, `{"index":0,"delta":{"content":" lor`...)
	} else {
		b = append(b, `{"index":0,"text":" lor`...)
	}
	return append(b, "\n\n"...)
}
