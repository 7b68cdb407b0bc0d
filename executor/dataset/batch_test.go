package dataset

import (
	"errors"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

// items is a Source of numbered prompts whose record bad cannot be read.
type items struct{ bad int }

func (s items) Item(i int) Item {
	if i == s.bad {
		return Item{Err: errors.New("the data file changed")}
	}
	return Item{Prompt: string(rune('a' + i%26))}
}

func TestBatchTakesConsecutiveRecords(t *testing.T) {
	b := Batch{Src: items{bad: -1}, PerRequest: 3}
	assert.Check(t, is.DeepEqual(b.Item(1).Inputs, []string{"d", "e", "f"}))
	r := Batch{Src: items{bad: -1}, PerRequest: 2, Query: true}.Item(1)
	assert.Check(t, is.Equal(r.Prompt, "d"), "the query")
	assert.Check(t, is.DeepEqual(r.Inputs, []string{"e", "f"}), "the documents")
}

// A record that cannot be read fails its request, as it does for chat.
func TestBatchKeepsARecordsError(t *testing.T) {
	it := Batch{Src: items{bad: 4}, PerRequest: 3}.Item(1)
	assert.Check(t, it.Err != nil)
	assert.Check(t, is.Len(it.Inputs, 0))
	assert.Check(t, Batch{Src: items{bad: 4}, PerRequest: 3}.Item(0).Err == nil)
}
