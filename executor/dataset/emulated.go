// Package dataset makes the prompts a scenario sends.
package dataset

import (
	"strconv"
	"strings"
)

// words are common English words that most LLM tokenizers (and the built-in
// simulator's word tokenizer) encode as one token each after a space.
var words = strings.Fields(`the of and to in is that it for on with as was at by be this
are from or have an they which one you were her all she there would their we him been has
when who will more no if out so said what up its about into than them can only other new
some could time these two may then do first any my now such like our over man me even most
made after also did many before must through back years where much your way well down
should because each just those people how too little state good very make world still own
see men work long get here between both life being under never day same another know while
last might us great old year off come since against go came right used take three`)

// Emulated makes synthetic prompts of a given length in words. With the
// simulator's tokenizer a word is a token; with real tokenizers a word of
// this list is about one token, so lengths are approximate there.
type Emulated struct {
	PromptTokens int
	OutputTokens int
}

// Prompt returns prompt i: a unique first word (so that no two requests
// share a prefix a server could cache), then PromptTokens-1 words.
func (e Emulated) Prompt(i int) string {
	var b strings.Builder
	b.Grow(e.PromptTokens * 6)
	b.WriteString("r")
	b.WriteString(strconv.Itoa(i))
	for k := 1; k < e.PromptTokens; k++ {
		b.WriteByte(' ')
		b.WriteString(words[(i*7+k*13)%len(words)])
	}
	return b.String()
}
