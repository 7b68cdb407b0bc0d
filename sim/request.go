package sim

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// request is the union of the chat, completions and tokenize request bodies
// the simulator understands. Unknown fields are ignored.
type request struct {
	Model               string          `json:"model"`
	Messages            []message       `json:"messages"`
	Prompt              json.RawMessage `json:"prompt"`
	MaxTokens           json.Number     `json:"max_tokens"`
	MaxCompletionTokens json.Number     `json:"max_completion_tokens"`
	MinTokens           json.Number     `json:"min_tokens"`
	Stream              bool            `json:"stream"`
	StreamOptions       *streamOptions  `json:"stream_options"`
	IgnoreEOS           bool            `json:"ignore_eos"`
	Inputs              *string         `json:"inputs"` // TGI's /tokenize
	// Input and EncodingFormat are /v1/embeddings' (sim/embeddings.go).
	Input          json.RawMessage `json:"input"`
	EncodingFormat string          `json:"encoding_format"`
	// Query, Documents and TopN are /v1/rerank's (sim/rerank.go).
	Query     *string  `json:"query"`
	Documents []string `json:"documents"`
	TopN      int      `json:"top_n"`
}

type streamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

type message struct {
	Role    string  `json:"role"`
	Content content `json:"content"`
}

// content is a chat message content: a string, null, or an array of parts of
// which the "text" parts are used (joined by "\n") and the "image_url"
// parts counted as images (sim/images.go).
type content struct {
	text   string
	images int // image_url parts
	// imageTokens are the images' tokens (ImageTokens).
	imageTokens int
}

type contentPart struct {
	Type     string    `json:"type"`
	Text     string    `json:"text"`
	ImageURL *imageURL `json:"image_url"`
}

func (c *content) UnmarshalJSON(b []byte) error {
	switch b[0] {
	case 'n':
		*c = content{}
		return nil
	case '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*c = content{text: s}
		return nil
	case '[':
		var parts []contentPart
		if err := json.Unmarshal(b, &parts); err != nil {
			return err
		}
		var sb strings.Builder
		n := 0
		*c = content{}
		for i := range parts {
			p := &parts[i]
			if p.Type == "image_url" {
				c.images++
				if c.images > MaxImagesPerRequest {
					return &imageError{"a request may carry at most " + strconv.Itoa(MaxImagesPerRequest) + " images"}
				}
				t, err := imageOf(p.ImageURL)
				if err != nil {
					return err
				}
				c.imageTokens += t
				continue
			}
			if p.Type != "text" {
				continue
			}
			if n > 0 {
				sb.WriteByte('\n')
			}
			sb.WriteString(p.Text)
			n++
		}
		c.text = sb.String()
		return nil
	}
	return errors.New("message content must be a string or an array of content parts")
}

// optInt parses an optional integer field. It accepts integral JSON numbers
// such as 10 or 10.0 and reports whether the field was present.
func optInt(name string, n json.Number) (v int64, present bool, err error) {
	if n == "" {
		return 0, false, nil
	}
	if i, err := strconv.ParseInt(string(n), 10, 64); err == nil {
		return i, true, nil
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return 0, true, fmt.Errorf("%s must be an integer, got %s", name, n)
	}
	return int64(f), true, nil
}

// maxOutputTokens is the cap above which the simulator refuses a request;
// it only guards against absurd values, vLLM's context limit is not enforced.
const maxOutputTokens = 1 << 24

// maxTokens resolves the effective output maximum of a request.
func (r *request) maxTokens(chat bool) (int, error) {
	mct, mctSet, err := optInt("max_completion_tokens", r.MaxCompletionTokens)
	if err != nil {
		return 0, err
	}
	if !chat {
		mct, mctSet = 0, false
	}
	mt, mtSet, err := optInt("max_tokens", r.MaxTokens)
	if err != nil {
		return 0, err
	}
	var v int64
	switch {
	case mctSet && mct > 0:
		v = mct
	case mtSet && mt > 0:
		v = mt
	case mctSet:
		return 0, fmt.Errorf("max_completion_tokens must be at least 1, got %d", mct)
	case mtSet:
		return 0, fmt.Errorf("max_tokens must be at least 1, got %d", mt)
	case chat:
		return DefaultChatMaxTokens, nil
	default:
		return DefaultCompletionMaxTokens, nil
	}
	if v > maxOutputTokens {
		return 0, fmt.Errorf("max_tokens must be at most %d, got %d", maxOutputTokens, v)
	}
	return int(v), nil
}

// promptParts returns the pieces of the prompt text (joined by "\n" they
// form the prompt text) and the number of prompt tokens, the messages'
// image tokens included. Chat requests use
// messages, completions use prompt, and tokenize requests use messages when
// present and prompt otherwise.
func (r *request) promptParts(k kind, parts []string) ([]string, int, error) {
	if k == kindChat || (k == kindTokenize && len(r.Messages) > 0) {
		if len(r.Messages) == 0 {
			return nil, 0, errors.New("messages must be a non-empty array")
		}
		n, images := 0, 0
		for i := range r.Messages {
			c := &r.Messages[i].Content
			parts = append(parts, c.text)
			n += CountTokens(c.text) + c.imageTokens
			images += c.images
		}
		if images > MaxImagesPerRequest {
			return nil, 0, &imageError{"a request may carry at most " + strconv.Itoa(MaxImagesPerRequest) + " images, got " + strconv.Itoa(images)}
		}
		return parts, n, nil
	}
	p := r.Prompt
	if len(p) == 0 || string(p) == "null" {
		if k == kindTokenize {
			return nil, 0, errors.New("prompt or messages is required")
		}
		return nil, 0, errors.New("prompt is required")
	}
	switch p[0] {
	case '"':
		var s string
		if err := json.Unmarshal(p, &s); err != nil {
			return nil, 0, err
		}
		return append(parts, s), CountTokens(s), nil
	case '[':
		var ss []string
		if err := json.Unmarshal(p, &ss); err == nil {
			if len(ss) == 0 {
				return nil, 0, errors.New("prompt must not be empty")
			}
			n := 0
			for _, s := range ss {
				n += CountTokens(s)
			}
			return append(parts, ss...), n, nil
		}
		var ids []int64
		if err := json.Unmarshal(p, &ids); err == nil {
			if len(ids) == 0 {
				return nil, 0, errors.New("prompt must not be empty")
			}
			b := make([]byte, 0, 6*len(ids))
			for i, id := range ids {
				if i > 0 {
					b = append(b, ' ')
				}
				b = strconv.AppendInt(b, id, 10)
			}
			return append(parts, string(b)), len(ids), nil
		}
	}
	return nil, 0, errors.New("prompt must be a string, an array of strings or an array of token ids")
}

// imageTokens is the image tokens of a request's messages.
func (r *request) imageTokens() int {
	n := 0
	for i := range r.Messages {
		n += r.Messages[i].Content.imageTokens
	}
	return n
}
