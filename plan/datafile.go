package plan

import (
	"fmt"
	"strings"
)

// DataFormats are the formats a data file may have.
var DataFormats = []string{"text", "jsonl", "csv", "sharegpt", "openai", "parquet"}

// remotePrefixes mark a data path that is not a local file.
var remotePrefixes = []string{"http://", "https://", "hf://", "s3://", "gs://", "gcs://", "az://", "ftp://"}

// isRemote reports whether a data path names a remote file (a URL, a
// Hugging Face hub path), which benchplan does not download.
func isRemote(path string) bool {
	l := strings.ToLower(strings.TrimSpace(path))
	for _, p := range remotePrefixes {
		if strings.HasPrefix(l, p) {
			return true
		}
	}
	return false
}

func remoteMessage(path string) string {
	how := "e.g. with curl -LO"
	if strings.HasPrefix(strings.ToLower(path), "hf://") || strings.Contains(path, "huggingface.co/") {
		how = "e.g. with `huggingface-cli download --repo-type dataset`"
	}
	return fmt.Sprintf("data file %s is not a local file: benchplan reads data files from local paths only; download it first (%s) and give its path, relative to the plan file", path, how)
}

// checkFileFormat checks a data file's format and the fields that depend on
// it (column, columns, multi_turn), filling the defaults (format from the
// extension, csv's prompt column). chat is true when the scenario uses the
// chat API. It reports whether the file can be read as declared.
func checkFileFormat(f *File, chat bool, add func(string, ...string), pos func(string) []string) bool {
	ok := true
	bad := func(msg string, field string) {
		add(msg, pos(field)...)
		ok = false
	}
	if f.Format == "" {
		f.Format = FormatFromExt(f.Path)
	}
	switch f.Format {
	case "":
		bad(fmt.Sprintf("cannot tell the format of %s from its extension: set `format:` to %s", f.Path, orList(DataFormats)), "path")
		return false
	case "text", "jsonl", "csv", "sharegpt", "openai", "parquet":
	default:
		msg := fmt.Sprintf("unknown format %q: use %s", f.Format, orList(DataFormats))
		if s := suggest(f.Format, DataFormats); s != "" {
			msg = fmt.Sprintf("unknown format %q (did you mean %q?)", f.Format, s)
		}
		bad(msg, "format")
		return false
	}
	if f.Column != "" && f.Format != "csv" {
		bad("column applies to csv files only (columns: maps the fields of jsonl and csv files)", "column")
	}
	if f.Columns != nil {
		c := f.Columns
		switch {
		case f.Format != "jsonl" && f.Format != "csv" && f.Format != "parquet":
			bad(fmt.Sprintf("columns applies to jsonl, csv and parquet files, not %s", f.Format), "columns")
		case c.Prompt == "" && c.Messages == "":
			bad("columns needs prompt (the field holding the prompt) or messages (the field holding a chat's messages)", "columns")
		case c.Prompt != "" && c.Messages != "":
			bad("columns gives both prompt and messages: give one", "columns.messages")
		case c.Messages != "" && f.Format != "jsonl":
			bad("columns.messages applies to jsonl files only", "columns.messages")
		case c.Messages != "" && !chat:
			bad("columns.messages needs the chat API; the scenario uses completions, which takes a prompt", "columns.messages")
		case f.Column != "" && c.Prompt != "":
			bad("give the prompt's column once: column or columns.prompt", "column")
		}
	}
	if f.Format == "csv" && f.Column == "" && (f.Columns == nil || f.Columns.Prompt == "" && f.Columns.Messages == "") {
		f.Column = "prompt"
	}
	if f.Format == "parquet" && (f.Columns == nil || f.Columns.Prompt == "" && f.Columns.Messages == "") {
		bad("a parquet file needs columns: { prompt: NAME }, the column holding the prompt", "format")
	}
	if f.Format == "openai" && !chat {
		bad("format openai sends each line's messages, which needs the chat API; the scenario uses completions", "format")
	}
	if f.MultiTurn {
		switch {
		case f.Format != "sharegpt":
			bad(fmt.Sprintf("multi_turn applies to sharegpt files, not %s", f.Format), "multi_turn")
		case !chat:
			bad("multi_turn sends a conversation's messages, which needs the chat API; the scenario uses completions", "multi_turn")
		}
	}
	return ok
}

// orList writes "a, b or c".
func orList(names []string) string {
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}
