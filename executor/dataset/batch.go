package dataset

// Batch makes requests of several inputs each, for embeddings: request i
// carries the prompts of items i×PerRequest to i×PerRequest+PerRequest-1
// of Src, so that every input is a prompt of its own (an emulated one
// unique, of its drawn length).
type Batch struct {
	Src Source
	// PerRequest is the inputs of each request (at least 1).
	PerRequest int
}

// Item returns request i's inputs.
func (b Batch) Item(i int) Item {
	k := max(b.PerRequest, 1)
	in := make([]string, k)
	for j := range in {
		in[j] = b.Src.Item(i*k + j).Prompt
	}
	return Item{Prompt: in[0], Inputs: in}
}
