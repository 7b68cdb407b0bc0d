package dataset

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// File is prompts read from a file. Request i sends item i modulo the
// number of items, so a step longer than the file goes round it again.
type File struct {
	items []Item
}

// Item returns request i's item.
func (f *File) Item(i int) Item { return f.items[i%len(f.items)] }

// Len is the number of prompts in the file.
func (f *File) Len() int { return len(f.items) }

// FileConfig says how to read a data file.
type FileConfig struct {
	// Path is the file to read.
	Path string
	// Format is text (a prompt per line), jsonl (an object per line with
	// `prompt` or `messages`, optional `output_tokens`) or csv (a header
	// row; prompts in Column, optional `output_tokens` column).
	Format string
	// Column is the csv column holding prompts (default prompt).
	Column string
	// OutputTokens is the output length of prompts that set none.
	OutputTokens int
	// Chat is true when requests go to the chat API: only then may a jsonl
	// line give `messages`.
	Chat bool
}

// LoadFile reads a data file. Its errors name the file and the line.
func LoadFile(cfg FileConfig) (*File, error) {
	f, err := os.Open(cfg.Path)
	if err != nil {
		return nil, fmt.Errorf("data file: %w", err)
	}
	defer f.Close()
	var items []Item
	switch cfg.Format {
	case "text":
		items, err = readText(f, cfg)
	case "jsonl":
		items, err = readJSONL(f, cfg)
	case "csv":
		items, err = readCSV(f, cfg)
	default:
		err = fmt.Errorf("unknown format %q (text, jsonl or csv)", cfg.Format)
	}
	if err != nil {
		return nil, fmt.Errorf("data file %s: %w", cfg.Path, err)
	}
	if len(items) == 0 {
		return nil, fmt.Errorf("data file %s: no prompts in it", cfg.Path)
	}
	return &File{items: items}, nil
}

func lines(r io.Reader, each func(n int, line []byte) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	n := 0
	for sc.Scan() {
		n++
		line := bytes.TrimRight(sc.Bytes(), "\r")
		if n == 1 {
			line = bytes.TrimPrefix(line, []byte("\xef\xbb\xbf")) // a UTF-8 byte order mark
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		if err := each(n, line); err != nil {
			return err
		}
	}
	return sc.Err()
}

func readText(r io.Reader, cfg FileConfig) ([]Item, error) {
	var items []Item
	err := lines(r, func(_ int, line []byte) error {
		items = append(items, Item{Prompt: string(line), OutputTokens: cfg.OutputTokens})
		return nil
	})
	return items, err
}

func readJSONL(r io.Reader, cfg FileConfig) ([]Item, error) {
	var items []Item
	err := lines(r, func(n int, line []byte) error {
		var rec struct {
			Prompt       *string         `json:"prompt"`
			Messages     json.RawMessage `json:"messages"`
			OutputTokens *int            `json:"output_tokens"`
		}
		if err := json.Unmarshal(line, &rec); err != nil {
			return fmt.Errorf("line %d: not a JSON object: %v", n, err)
		}
		it := Item{OutputTokens: cfg.OutputTokens}
		if rec.OutputTokens != nil {
			if *rec.OutputTokens < 1 {
				return fmt.Errorf("line %d: output_tokens must be at least 1, got %d", n, *rec.OutputTokens)
			}
			it.OutputTokens = *rec.OutputTokens
		}
		hasMessages := len(rec.Messages) > 0 && string(rec.Messages) != "null"
		switch {
		case rec.Prompt != nil && hasMessages:
			return fmt.Errorf("line %d: has both prompt and messages: give one", n)
		case rec.Prompt != nil:
			it.Prompt = *rec.Prompt
		case hasMessages:
			if !cfg.Chat {
				return fmt.Errorf("line %d: has messages, but the scenario uses the completions API, which takes a prompt", n)
			}
			var msgs []struct {
				Role    string          `json:"role"`
				Content json.RawMessage `json:"content"`
			}
			if err := json.Unmarshal(rec.Messages, &msgs); err != nil || len(msgs) == 0 {
				return fmt.Errorf("line %d: messages must be a non-empty array of {role, content}", n)
			}
			for k, m := range msgs {
				if m.Role == "" {
					return fmt.Errorf("line %d: messages[%d] has no role", n, k)
				}
			}
			var compact bytes.Buffer
			_ = json.Compact(&compact, rec.Messages)
			it.Messages = compact.Bytes()
		default:
			return fmt.Errorf(`line %d: needs "prompt" (a string) or "messages" (an array)`, n)
		}
		items = append(items, it)
		return nil
	})
	return items, err
}

func readCSV(r io.Reader, cfg FileConfig) ([]Item, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	head, err := cr.Read()
	if err == io.EOF {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	column := cfg.Column
	if column == "" {
		column = "prompt"
	}
	col, outCol := -1, -1
	for k, h := range head {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\xef\xbb\xbf"))
		switch h {
		case column:
			col = k
		case "output_tokens":
			outCol = k
		}
	}
	if col < 0 {
		return nil, fmt.Errorf("no column %q in the header (columns: %s)", column, strings.Join(head, ", "))
	}
	var items []Item
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		line, _ := cr.FieldPos(0)
		if col >= len(rec) || strings.TrimSpace(rec[col]) == "" {
			continue
		}
		it := Item{Prompt: rec[col], OutputTokens: cfg.OutputTokens}
		if outCol >= 0 && outCol < len(rec) && strings.TrimSpace(rec[outCol]) != "" {
			v, err := strconv.Atoi(strings.TrimSpace(rec[outCol]))
			if err != nil || v < 1 {
				return nil, fmt.Errorf("line %d: output_tokens must be a whole number of at least 1, got %q", line, rec[outCol])
			}
			it.OutputTokens = v
		}
		items = append(items, it)
	}
	return items, nil
}
