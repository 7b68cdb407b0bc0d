package dataset

// Batch makes requests of several inputs each, for embeddings and rerank:
// request i carries PerRequest prompts of Src (with Query, one more before
// them: the query of a rerank request), items i×n to i×n+n-1, so that
// every input is a prompt of its own (an emulated one unique, of its drawn
// length).
type Batch struct {
	Src Source
	// PerRequest is the inputs (documents) of each request (at least 1).
	PerRequest int
	// Query gives each request a query (Item.Prompt) besides its inputs.
	Query bool
}

// Item returns request i's inputs (and query).
func (b Batch) Item(i int) Item {
	k := max(b.PerRequest, 1)
	n := k
	if b.Query {
		n++
	}
	all := make([]string, n)
	for j := range all {
		it := b.Src.Item(i*n + j)
		if it.Err != nil {
			return Item{Err: it.Err} // a data file that changed fails the request
		}
		all[j] = it.Prompt
	}
	if b.Query {
		return Item{Prompt: all[0], Inputs: all[1:]}
	}
	return Item{Prompt: all[0], Inputs: all}
}
