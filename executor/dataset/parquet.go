package dataset

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/parquet-go/parquet-go"

	"github.com/benchplan/benchplan/internal/regular"
	"github.com/benchplan/benchplan/plan"
)

// maxParquetFooterBytes bounds a Parquet file's metadata (its footer),
// which is read whole before any row.
const maxParquetFooterBytes = 64 << 20

// openParquet opens a Parquet file, its footer bounded first.
func openParquet(ra io.ReaderAt, size int64) (f *parquet.File, err error) {
	defer recoverAs(&err)
	if size < 12 {
		return nil, errors.New("not a Parquet file: too short")
	}
	var tail [8]byte
	if _, err := ra.ReadAt(tail[:], size-8); err != nil {
		return nil, err
	}
	if string(tail[4:]) != "PAR1" {
		return nil, errors.New("not a Parquet file: it does not end with PAR1")
	}
	if n := binary.LittleEndian.Uint32(tail[:4]); int64(n) > min(size-12, maxParquetFooterBytes) {
		return nil, fmt.Errorf("its metadata (%s) is larger than the file or the limit of %s", regular.Size(int64(n)), regular.Size(maxParquetFooterBytes))
	}
	f, err = parquet.OpenFile(ra, size, parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
	if err != nil {
		return nil, fmt.Errorf("not a Parquet file benchplan can read: %w", err)
	}
	return f, nil
}

// recoverAs turns a panic of the Parquet library on a malformed file into
// an error.
func recoverAs(err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("a malformed Parquet file: %v", r)
	}
}

// parquetColumns are the leaf columns a Parquet file's records are read
// from (-1: none).
type parquetColumns struct{ prompt, out, answer int }

// columns finds the mapped columns in a Parquet file's schema.
func (p *parser) parquetColumns(f *parquet.File) (parquetColumns, error) {
	c := p.cfg.Columns
	cols := parquetColumns{-1, -1, -1}
	var names []string
	for _, path := range f.Schema().Columns() {
		names = append(names, strings.Join(path, "."))
	}
	find := func(name string, to *int) error {
		if name == "" {
			return nil
		}
		leaf, ok := f.Schema().Lookup(strings.Split(name, ".")...)
		if !ok {
			if s := closest(name, names); s != "" {
				return fmt.Errorf("no column %q in the file (did you mean %q?)", clip(name), clip(s))
			}
			shown := append([]string(nil), names...)
			sort.Strings(shown)
			if len(shown) > 20 {
				shown = append(shown[:20:20], "...")
			}
			return fmt.Errorf("no column %q in the file (columns: %s)", clip(name), strings.Join(shown, ", "))
		}
		if leaf.MaxRepetitionLevel > 0 {
			return fmt.Errorf("column %q is a list: map a column of one value a row", clip(name))
		}
		*to = leaf.ColumnIndex
		return nil
	}
	if c == nil || c.Prompt == "" {
		return cols, errors.New("a Parquet file needs columns: { prompt: NAME }")
	}
	for _, m := range []struct {
		name string
		to   *int
	}{{c.Prompt, &cols.prompt}, {c.OutputTokens, &cols.out}, {c.Answer, &cols.answer}} {
		if err := find(m.name, m.to); err != nil {
			return cols, err
		}
	}
	return cols, nil
}

// row makes a Parquet row's item from its mapped values.
func (p *parser) row(prompt, out, answer *parquet.Value) (Item, bool, error) {
	c := p.cfg.Columns
	text := func(v *parquet.Value, name string) (string, bool, error) {
		if v.IsNull() {
			return "", false, nil
		}
		if v.Kind() != parquet.ByteArray {
			return "", false, fmt.Errorf("column %q holds %s values, not text", clip(name), v.Kind())
		}
		return string(v.ByteArray()), true, nil
	}
	s, ok, err := text(prompt, c.Prompt)
	if err != nil || !ok || strings.TrimSpace(s) == "" {
		return Item{}, err == nil, err
	}
	it := Item{Prompt: s, OutputTokens: p.cfg.OutputTokens}
	if answer != nil && p.cfg.OutputTokens == 0 {
		a, ok, err := text(answer, c.Answer)
		if err != nil {
			return Item{}, false, err
		}
		if ok {
			it.OutputTokens = EstimateTokens(a)
		}
	}
	if out != nil && !out.IsNull() {
		var n int64
		switch out.Kind() {
		case parquet.Int32, parquet.Int64:
			n = out.Int64()
		case parquet.ByteArray:
			v, err := strconv.ParseInt(strings.TrimSpace(string(out.ByteArray())), 10, 64)
			if err != nil {
				return Item{}, false, fmt.Errorf("column %q must hold whole numbers, got %q", clip(c.OutputTokens), clip(string(out.ByteArray())))
			}
			n = v
		default:
			return Item{}, false, fmt.Errorf("column %q must hold whole numbers, not %s values", clip(c.OutputTokens), out.Kind())
		}
		if n < 1 || n > int64(plan.MaxTokens) {
			return Item{}, false, fmt.Errorf("output_tokens must be in 1..%d, got %d", plan.MaxTokens, n)
		}
		it.OutputTokens = int(n)
	}
	return it, false, nil
}

// columnValues reads one column chunk's values one at a time.
type columnValues struct {
	pages parquet.Pages
	page  parquet.Page
	vals  parquet.ValueReader
	buf   [1]parquet.Value
}

func (c *columnValues) next() (*parquet.Value, error) {
	for {
		if c.vals != nil {
			n, err := c.vals.ReadValues(c.buf[:])
			if n == 1 {
				return &c.buf[0], nil
			}
			if err != nil && !errors.Is(err, io.EOF) {
				return nil, err
			}
			parquet.Release(c.page)
			c.page, c.vals = nil, nil
		}
		pg, err := c.pages.ReadPage()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil, io.ErrUnexpectedEOF // fewer values than rows
			}
			return nil, err
		}
		c.page, c.vals = pg, pg.Values()
	}
}

func (c *columnValues) close() {
	if c.page != nil {
		parquet.Release(c.page)
	}
	c.pages.Close()
}

// openColumns opens the mapped columns of a row group, at row.
func openColumns(rg parquet.RowGroup, cols parquetColumns, row int64) ([3]*columnValues, error) {
	var out [3]*columnValues
	chunks := rg.ColumnChunks()
	for k, idx := range []int{cols.prompt, cols.out, cols.answer} {
		if idx < 0 || idx >= len(chunks) {
			continue
		}
		out[k] = &columnValues{pages: chunks[idx].Pages()}
		if row > 0 {
			if err := out[k].pages.SeekToRow(row); err != nil {
				closeColumns(out)
				return out, err
			}
		}
	}
	return out, nil
}

func closeColumns(cs [3]*columnValues) {
	for _, c := range cs {
		if c != nil {
			c.close()
		}
	}
}

// nextRow reads the next row's mapped values.
func nextRow(cs [3]*columnValues) (vals [3]*parquet.Value, err error) {
	for k, c := range cs {
		if c != nil {
			if vals[k], err = c.next(); err != nil {
				return vals, err
			}
		}
	}
	return vals, nil
}

// readParquet reads a Parquet file's rows, a row group at a time and only
// the mapped columns. A record's start is its row number.
func readParquet(ctx context.Context, ra io.ReaderAt, size int64, p *parser, each func(record) error) (err error) {
	defer recoverAs(&err)
	f, err := openParquet(ra, size)
	if err != nil {
		return err
	}
	cols, err := p.parquetColumns(f)
	if err != nil {
		return err
	}
	row := int64(0)
	for _, rg := range f.RowGroups() {
		cs, err := openColumns(rg, cols, 0)
		if err != nil {
			return fmt.Errorf("row %d: %w", row+1, err)
		}
		for r := int64(0); r < rg.NumRows(); r++ {
			if row%checkEvery == 0 {
				if err := ctx.Err(); err != nil {
					closeColumns(cs)
					return err
				}
			}
			vals, err := nextRow(cs)
			if err == nil {
				var it Item
				var skip bool
				it, skip, err = p.row(vals[0], vals[1], vals[2])
				if err == nil && !skip {
					err = each(record{start: row, end: row, item: it})
				}
			}
			if err != nil {
				closeColumns(cs)
				var le *lineError
				if errors.As(err, &le) {
					return fmt.Errorf("row %d: %s", row+1, le.msg)
				}
				return fmt.Errorf("row %d: %w", row+1, err)
			}
			row++
		}
		closeColumns(cs)
	}
	return nil
}

// parquetSource reads rows back from a Parquet file for File.Item.
type parquetSource struct {
	mu    sync.Mutex
	f     *parquet.File
	cols  parquetColumns
	p     *parser
	first []int64 // first[g] is row group g's first row
}

func newParquetSource(ra io.ReaderAt, size int64, p *parser) (*parquetSource, error) {
	f, err := openParquet(ra, size)
	if err != nil {
		return nil, err
	}
	cols, err := p.parquetColumns(f)
	if err != nil {
		return nil, err
	}
	s := &parquetSource{f: f, cols: cols, p: p}
	row := int64(0)
	for _, rg := range f.RowGroups() {
		s.first = append(s.first, row)
		row += rg.NumRows()
	}
	return s, nil
}

// item reads row back: the pages of its mapped columns that hold it.
func (s *parquetSource) item(row int64) (it Item, err error) {
	defer recoverAs(&err)
	s.mu.Lock()
	defer s.mu.Unlock()
	g := sort.Search(len(s.first), func(k int) bool { return s.first[k] > row }) - 1
	if g < 0 {
		return Item{}, fmt.Errorf("no row %d", row+1)
	}
	cs, err := openColumns(s.f.RowGroups()[g], s.cols, row-s.first[g])
	if err != nil {
		return Item{}, err
	}
	defer closeColumns(cs)
	vals, err := nextRow(cs)
	if err != nil {
		return Item{}, err
	}
	it, skip, err := s.p.row(vals[0], vals[1], vals[2])
	if err == nil && skip {
		err = errors.New("no prompt in it")
	}
	return it, err
}
