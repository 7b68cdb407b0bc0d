package dataset

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"sync"
)

// File is prompts read from a data file, streamed: Load scans the file
// once and keeps only where each record lies (8 bytes a record, so at
// most 32 MiB for MaxRecords; a Parquet file's row numbers); Item reads request i's record back from the
// file when the request is sent. Request i sends record i modulo the
// number of records, so a step longer than the file goes round it again.
// The file stays open until Close.
type File struct {
	f      *os.File
	path   string
	p      *parser
	pq     *parquetSource // for a Parquet file
	index  []uint64
	buffer sync.Pool
}

// The index packs a record's offset (up to 1 TiB) and length (up to 16 MiB,
// above MaxLineBytes and its CR LF) into 8 bytes.
const (
	lengthBits = 24
	maxOffset  = 1<<(64-lengthBits) - 1
)

func pack(start, end int64) uint64 { return uint64(start)<<lengthBits | uint64(end-start) }

func unpack(v uint64) (start, length int64) {
	return int64(v >> lengthBits), int64(v & (1<<lengthBits - 1))
}

// Load checks a data file through and indexes its records; it stops when
// ctx ends. Errors name the file and the line (path:line: message).
func Load(ctx context.Context, cfg FileConfig) (*File, error) {
	f, size, err := open(cfg.Path)
	if err != nil {
		return nil, err
	}
	p, err := newParser(cfg)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("data file %s: %w", cfg.Path, err)
	}
	var index []uint64
	err = scanFile(ctx, f, size, cfg, func(r record) error {
		if r.end-r.start >= 1<<lengthBits || r.end > maxOffset {
			return errAt(r.line, "a record of %d bytes at offset %d is beyond the index", r.end-r.start, r.start)
		}
		index = append(index, pack(r.start, r.end))
		return nil
	})
	if err == nil && cfg.Format == "csv" {
		// Item reads records alone: the parser needs the header's columns.
		err = scanHeader(f, size, p)
	}
	var pq *parquetSource
	if err == nil && cfg.Format == "parquet" {
		// A Parquet record is a row: Item reads it back through the
		// file's metadata.
		if pq, err = newParquetSource(f, size, p); err != nil {
			err = fmt.Errorf("data file %s: %w", cfg.Path, err)
		}
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return &File{f: f, path: cfg.Path, p: p, pq: pq, index: index[:len(index):len(index)]}, nil
}

// scanHeader reads a csv file's header into p.
func scanHeader(f *os.File, size int64, p *parser) error {
	cr := newCSVReader(&recordLimiter{r: io.NewSectionReader(f, 0, size)})
	head, err := cr.Read()
	if err != nil {
		return fmt.Errorf("data file %s: the header: %w", p.cfg.Path, err)
	}
	return p.header(head)
}

// Len is the number of prompts in the file.
func (f *File) Len() int { return len(f.index) }

// Close closes the file.
func (f *File) Close() error { return f.f.Close() }

// Item returns request i's item, read from the file. If the file cannot be
// read back as it was scanned (it changed during the run), the item's Err
// says so.
func (f *File) Item(i int) Item {
	start, length := unpack(f.index[i%len(f.index)])
	if f.pq != nil {
		it, err := f.pq.item(start)
		if err != nil {
			return Item{Err: fmt.Errorf("data file %s: reading row %d: %w", f.path, start+1, err)}
		}
		return it
	}
	bp, _ := f.buffer.Get().(*[]byte)
	if bp == nil || int64(cap(*bp)) < length {
		b := make([]byte, max(length, 4<<10))
		bp = &b
	}
	defer f.buffer.Put(bp)
	span := (*bp)[:length]
	if _, err := f.f.ReadAt(span, start); err != nil {
		return Item{Err: fmt.Errorf("data file %s: reading record %d: %w", f.path, i%len(f.index)+1, err)}
	}
	it, err := f.p.at(span)
	if err != nil {
		return Item{Err: fmt.Errorf("data file %s changed since it was read: record %d at byte %d: %w", f.path, i%len(f.index)+1, start, err)}
	}
	return it
}

// at reads back a record that scanning found valid.
func (p *parser) at(span []byte) (Item, error) {
	switch p.cfg.Format {
	case "sharegpt":
		return p.entryAt(span)
	case "csv":
		cr := newCSVReader(bytes.NewReader(span))
		rec, err := cr.Read()
		if err != nil {
			return Item{}, err
		}
		it, skip, err := p.fields(rec)
		if err == nil && skip {
			err = fmt.Errorf("no prompt in it")
		}
		return it, err
	}
	it, skip, err := p.line(span)
	if err == nil && skip {
		err = fmt.Errorf("no prompt in it")
	}
	return it, err
}
