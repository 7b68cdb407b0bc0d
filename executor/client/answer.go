package client

import (
	"encoding/json"
	"fmt"
)

// ReasonAnswerTooLong is the reason a session ends when an answer it
// must send back exceeds its Answer's cap.
const ReasonAnswerTooLong = "answer too long"

// DefaultAnswerCapBytes bounds the answer text an Answer keeps (1 MiB):
// a multi-turn session sends each answer back in its later turns.
const DefaultAnswerCapBytes = 1 << 20

// Answer collects the text of a streamed chat answer (delta.content, not
// reasoning), for a session that sends it back in its next turn. It keeps
// at most CapBytes; past them Overflow is set and the text stops growing.
// Collecting decodes each answer chunk a second time, so only requests
// that need the text carry an Answer (Request.Answer nil costs nothing).
type Answer struct {
	// CapBytes bounds Text (DefaultAnswerCapBytes when 0).
	CapBytes int
	// Text is the answer's content, as streamed.
	Text []byte
	// Overflow is true when the answer went past CapBytes.
	Overflow bool
}

// add appends the content of one answer chunk.
func (a *Answer) add(data []byte) error {
	var ch struct {
		Choices []struct {
			Delta struct {
				Content string `json:"content"`
			} `json:"delta"`
		} `json:"choices"`
	}
	if err := json.Unmarshal(data, &ch); err != nil {
		return &malformedError{err}
	}
	capBytes := a.CapBytes
	if capBytes <= 0 {
		capBytes = DefaultAnswerCapBytes
	}
	for _, c := range ch.Choices {
		if a.Overflow {
			return nil
		}
		if len(a.Text)+len(c.Delta.Content) > capBytes {
			a.Overflow = true
			return nil
		}
		a.Text = append(a.Text, c.Delta.Content...)
	}
	return nil
}

// Err says why a session cannot go on with this answer, or nil.
func (a *Answer) Err() error {
	if a.Overflow {
		capBytes := a.CapBytes
		if capBytes <= 0 {
			capBytes = DefaultAnswerCapBytes
		}
		return fmt.Errorf("%s: the answer is longer than the %d bytes a session keeps to send back", ReasonAnswerTooLong, capBytes)
	}
	return nil
}
