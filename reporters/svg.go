package reporters

import (
	"fmt"
	"html"
	"math"
	"strconv"
	"strings"
)

// A small SVG chart renderer for report.html: line charts with markers and
// a legend, histograms, vertical markers; axes with round ticks. Its output
// is plain SVG markup styled by the page's CSS (classes, no fonts, no
// scripts), deterministic for given input, and every point carries a
// <title> so hovering shows its value without any script.
//
// Why hand-written and not gonum/plot (gonum.org/v1/plot), weighed for
// issue #20:
//   - Dependency and size: gonum/plot pulls in gonum/gonum's numerics, its
//     own font package with embedded Liberation fonts (several MB), and
//     image, PDF and TeX backends; benchplan links none of it today, and
//     the charts here need about 500 lines.
//   - Output: gonum/plot's vg backends write raster (PNG) or vector (SVG,
//     PDF) images whose text is drawn with the fonts it embeds and measures
//     itself, as glyph paths or positioned text in absolute units. That
//     means no page CSS: no light or dark theme, no palette shared with
//     the tables, no <title> on a point to hover (vgsvg has no hook for
//     it), and a file much larger than this markup (a PNG per chart would
//     have to travel as a data: URL).
//   - Text layout: gonum/plot measures text exactly with its own fonts, but
//     it does not prevent labels from colliding either (legend entries,
//     marker labels and crowded ticks are placed where asked); the
//     collision-avoidance here (legend rows that wrap, marker labels
//     nudged into rows a text height apart, labels kept inside the
//     viewBox) would be ours to write on top of it anyway.
//   - Units and ordering (one unit per axis, fixed 0–100% for fractions,
//     points ordered by x) are decisions of the report, not of a plotting
//     library.
// So the charts stay hand-written; their layout is checked in a real
// browser (TestChartTextDoesNotCollide measures every <text>'s box in
// headless Chromium), not estimated.

// chartW and chartH are a chart's viewBox size; the page scales it.
const (
	chartW = 640
	chartH = 300
)

// line is one series of a line chart.
type line struct {
	name   string
	xs, ys []float64
	// tips are the points' hover texts (optional, one per point).
	tips []string
	// color indexes the palette (classes s0..s9).
	color   int
	dashed  bool
	markers bool
}

// histogram is a bar series over equal-width bins.
type histogram struct {
	start, width float64
	counts       []int
	overflow     int
	// tip names one bin's range for the hover text.
	tip func(lo, hi float64, n int) string
}

// vmark is a vertical marker line with a label at its top.
type vmark struct {
	x     float64
	label string
	// short stands for label where label finds no room (optional).
	short string
	// class is "step" (a step boundary) or "pct" (a percentile).
	class string
}

// axisKind says how an axis reads its values.
type axisKind int

const (
	// plainAxis: numbers, ticks written by the chart's format.
	plainAxis axisKind = iota
	// durationAxis: values in milliseconds; the ticks are plain numbers
	// in one unit (µs, ms or s, whichever suits the range), which the
	// axis label names: "TTFT (s)" with ticks 0, 2.5, 5.
	durationAxis
	// percentAxis: values in percent, always shown on 0–100 ("%").
	percentAxis
)

// chart is one chart.
type chart struct {
	// title and desc are for screen readers (<title>, <desc>).
	title, desc    string
	xLabel, yLabel string
	// xFmt and yFmt write values for the hover texts (and the ticks of a
	// plain axis).
	xFmt, yFmt func(float64) string
	// xTick writes a plain x axis's ticks (fmtNumber when nil):
	// fmtSeconds makes it a duration axis whose ticks name their unit.
	xTick        func(float64) string
	xKind, yKind axisKind
	lines        []line
	hist         *histogram
	marks        []vmark
	// xFixed sets the x range to xMin..xMax instead of the data's.
	xFixed     bool
	xMin, xMax float64
}

// axis margins
const (
	padL = 62
	padR = 18
	padT = 34
	padB = 42
	// rowH is the distance between rows of labels: more than a line of
	// the charts' 11px text (about 13px from ascender to descender).
	rowH = 14
)

// svg renders the chart: its frame and axes, histogram bars, vertical
// markers, lines with their markers, and the legend.
func (c *chart) svg() string {
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %d %d" role="img" aria-label="%s">`, chartW, chartH, esc(c.title))
	fmt.Fprintf(&b, "<title>%s</title>", esc(c.title))
	if c.desc != "" {
		fmt.Fprintf(&b, "<desc>%s</desc>", esc(c.desc))
	}
	p, ok := c.plot()
	if !ok {
		fmt.Fprintf(&b, `<rect class="frame" x="%d" y="%d" width="%d" height="%d"/>`, padL, padT, chartW-padL-padR, chartH-padT-padB)
		fmt.Fprintf(&b, `<text class="nodata" x="%s" y="%s" text-anchor="middle">no data</text></svg>`, f1((p.x0+p.x1)/2), f1((p.y0+p.y1)/2))
		return b.String()
	}
	c.axes(&b, p)
	c.bars(&b, p)
	c.vmarks(&b, p)
	c.series(&b, p)
	c.legend(&b, p)
	b.WriteString(`</svg>`)
	return b.String()
}

// plot is a chart's drawing area once its ranges are known: where values
// land, its ticks and how they read.
type plot struct {
	// x0..x1 and y0..y1 are the area in the viewBox (y0 at the top).
	x0, x1, y0, y1 float64
	// xlo..xhi is the x range shown, 0..ytop the y range.
	xlo, xhi, ytop float64
	xt, yt         []float64
	// xfmt and yfmt write values for hover texts; xtick and ytick write
	// the ticks; xlabel and ylabel name the axes, with their unit.
	xfmt, yfmt     func(float64) string
	xtick, ytick   func(float64) string
	xlabel, ylabel string
	// legend is where each named line's legend entry goes.
	legend []legendEntry
}

// legendEntry is one line's place in the legend.
type legendEntry struct {
	line int
	x, y float64
}

func (p *plot) px(x float64) float64 { return p.x0 + (x-p.xlo)/(p.xhi-p.xlo)*(p.x1-p.x0) }
func (p *plot) py(y float64) float64 { return p.y1 - y/p.ytop*(p.y1-p.y0) }

// plot lays the chart out: the legend in rows along the top, x from its
// data (or its fixed range), widened to round ticks for line charts, y
// from 0 to a round tick above its data (0–100 for a percent axis); ok is
// false when there is nothing to draw.
func (c *chart) plot() (p *plot, ok bool) {
	p = &plot{x0: padL, x1: chartW - padR, y0: padT, y1: chartH - padB, xfmt: c.xFmt, yfmt: c.yFmt, xlabel: c.xLabel, ylabel: c.yLabel}
	p.legend = c.layoutLegend()
	if n := len(p.legend); n > 0 {
		p.y0 = math.Max(p.y0, p.legend[n-1].y+rowH+2)
	}
	xlo, xhi, yhi, has := c.dataRange()
	if c.xFixed {
		xlo, xhi = c.xMin, c.xMax
	}
	if !has {
		return p, false
	}
	for _, m := range c.marks {
		if m.class == "pct" {
			xhi = math.Max(xhi, m.x)
		}
	}
	if xhi <= xlo {
		pad := math.Max(math.Abs(xlo)*0.1, 1)
		nonNeg := xlo >= 0
		xlo, xhi = xlo-pad, xhi+pad
		if nonNeg && xlo < 0 {
			xlo = 0
		}
	}
	p.xt, p.xtick, p.xlabel = axisTicks(c.xKind, xlo, xhi, 6, c.xTick, c.xLabel)
	if !c.xFixed && c.hist == nil {
		xlo, xhi = math.Min(xlo, p.xt[0]), math.Max(xhi, p.xt[len(p.xt)-1])
	}
	if yhi <= 0 {
		yhi = 1
	}
	if c.yKind == percentAxis {
		yhi = math.Max(yhi, 100)
	}
	p.yt, p.ytick, p.ylabel = axisTicks(c.yKind, 0, yhi, 5, nil, c.yLabel)
	p.xlo, p.xhi, p.ytop = xlo, xhi, p.yt[len(p.yt)-1]
	p.xfmt, p.yfmt = hoverFormat(c.xKind, p.xfmt, p.xtick), hoverFormat(c.yKind, p.yfmt, p.ytick)
	return p, true
}

// axisTicks picks an axis's round ticks over lo..hi (about n of them),
// how they are written and the axis label with its unit.
func axisTicks(kind axisKind, lo, hi float64, n int, format func(float64) string, label string) (ticks []float64, tick func(float64) string, withUnit string) {
	switch kind {
	case durationAxis:
		div, unit := durationUnit(math.Max(math.Abs(lo), math.Abs(hi)))
		for _, t := range niceTicks(lo/div, hi/div, n) {
			ticks = append(ticks, t*div)
		}
		return ticks, func(v float64) string { return trimFloat(v/div, 3) }, labelUnit(label, unit)
	case percentAxis:
		return niceTicks(lo, hi, n), func(v float64) string { return trimFloat(v, 1) }, labelUnit(label, "%")
	}
	if format == nil {
		format = fmtNumber
	}
	return niceTicks(lo, hi, n), format, label
}

// hoverFormat is how a value of an axis reads on hover: the chart's
// format, else the value with its unit.
func hoverFormat(kind axisKind, format, tick func(float64) string) func(float64) string {
	switch {
	case format != nil:
		return format
	case kind == durationAxis:
		return fmtMS
	case kind == percentAxis:
		return func(v float64) string { return trimFloat(v, 2) + "%" }
	}
	return tick
}

// durationUnit is the unit for milliseconds up to top, and its size in
// milliseconds.
func durationUnit(top float64) (float64, string) {
	switch {
	case top >= 1000:
		return 1000, "s"
	case top > 0 && top < 1:
		return 0.001, "µs"
	}
	return 1, "ms"
}

// labelUnit names an axis with its unit: "TTFT (ms)", or "ms" alone.
func labelUnit(label, unit string) string {
	if label == "" {
		return unit
	}
	return label + " (" + unit + ")"
}

// dataRange is the x range and the highest y of the chart's lines and
// histogram; has is false when they hold no finite point.
func (c *chart) dataRange() (xlo, xhi, yhi float64, has bool) {
	xlo, xhi = math.Inf(1), math.Inf(-1)
	for _, l := range c.lines {
		for i := range l.xs {
			if l.ok(i) {
				xlo, xhi = math.Min(xlo, l.xs[i]), math.Max(xhi, l.xs[i])
				yhi = math.Max(yhi, l.ys[i])
				has = true
			}
		}
	}
	if h := c.hist; h != nil && len(h.counts) > 0 {
		xlo = math.Min(xlo, h.start)
		xhi = math.Max(xhi, h.start+h.width*float64(len(h.counts)))
		for _, n := range h.counts {
			yhi = math.Max(yhi, float64(n))
		}
		has = true
	}
	return xlo, xhi, yhi, has
}

// axes draws the grid, the axes with their ticks and the axis labels.
func (c *chart) axes(b *strings.Builder, p *plot) {
	b.WriteString(`<g class="grid">`)
	for _, t := range p.yt {
		fmt.Fprintf(b, `<line x1="%s" y1="%s" x2="%s" y2="%s"/>`, f1(p.x0), f1(p.py(t)), f1(p.x1), f1(p.py(t)))
	}
	b.WriteString(`</g><g class="axis">`)
	fmt.Fprintf(b, `<line x1="%s" y1="%s" x2="%s" y2="%s"/>`, f1(p.x0), f1(p.y1), f1(p.x1), f1(p.y1))
	fmt.Fprintf(b, `<line x1="%s" y1="%s" x2="%s" y2="%s"/>`, f1(p.x0), f1(p.y0), f1(p.x0), f1(p.y1))
	for _, t := range p.yt {
		fmt.Fprintf(b, `<text x="%s" y="%s" text-anchor="end">%s</text>`, f1(p.x0-6), f1(p.py(t)+4), esc(p.ytick(t)))
	}
	slack := 1e-9 * math.Abs(p.xhi-p.xlo)
	// A tick label that would run into the one before it is left out (its
	// tick stays).
	lastEnd := math.Inf(-1)
	for _, t := range p.xt {
		if t < p.xlo-slack || t > p.xhi+slack {
			continue
		}
		fmt.Fprintf(b, `<line x1="%s" y1="%s" x2="%s" y2="%s"/>`, f1(p.px(t)), f1(p.y1), f1(p.px(t)), f1(p.y1+4))
		s := p.xtick(t)
		w := textWidth(s, 11)
		if math.Min(p.px(t), chartW-2-w/2)-w/2 < lastEnd+6 {
			continue
		}
		// Centred on its tick, or ending at the chart's edge.
		cx := math.Min(p.px(t), chartW-2-w/2)
		lastEnd = cx + w/2
		fmt.Fprintf(b, `<text x="%s" y="%s" text-anchor="middle">%s</text>`, f1(cx), f1(p.y1+19), esc(s))
	}
	if p.xlabel != "" {
		fmt.Fprintf(b, `<text class="label" x="%s" y="%d" text-anchor="middle">%s</text>`, f1((p.x0+p.x1)/2), chartH-6, esc(p.xlabel))
	}
	if p.ylabel != "" {
		mid := f1((p.y0 + p.y1) / 2)
		fmt.Fprintf(b, `<text class="label" x="%d" y="%s" text-anchor="middle" transform="rotate(-90 %d %s)">%s</text>`,
			13, mid, 13, mid, esc(p.ylabel))
	}
	b.WriteString(`</g>`)
}

// bars draws the histogram's bins, each with its range and count to hover,
// and how many values lay beyond the last.
func (c *chart) bars(b *strings.Builder, p *plot) {
	h := c.hist
	if h == nil {
		return
	}
	b.WriteString(`<g class="bars">`)
	for i, n := range h.counts {
		lo := h.start + float64(i)*h.width
		hi := lo + h.width
		xa, xb := p.px(lo), p.px(hi)
		w := math.Max(xb-xa-1, 0.5)
		tip := fmt.Sprintf("%g–%g: %d", lo, hi, n)
		if h.tip != nil {
			tip = h.tip(lo, hi, n)
		}
		fmt.Fprintf(b, `<rect x="%s" y="%s" width="%s" height="%s"><title>%s</title></rect>`,
			f1(xa+0.5), f1(p.py(float64(n))), f1(w), f1(p.y1-p.py(float64(n))), esc(tip))
	}
	b.WriteString(`</g>`)
	if h.overflow > 0 {
		fmt.Fprintf(b, `<text class="note" x="%s" y="%s" text-anchor="end">+%d beyond</text>`, f1(p.x1), f1(p.y0-4), h.overflow)
	}
}

// markRows is how many rows of marker labels a chart has at most.
const markRows = 4

// vmarks draws the vertical markers within the x range, with their
// labels: each label in the first row, from the top, where it keeps clear
// of the labels already there; rows are a text height apart, and a label
// stays inside the chart. A label with no room takes its short form, or
// none (the marker's line then names it on hover).
func (c *chart) vmarks(b *strings.Builder, p *plot) {
	var rows [markRows][][2]float64
	fits := func(r int, a, z float64) bool {
		for _, iv := range rows[r] {
			if a < iv[1]+6 && iv[0] < z+6 {
				return false
			}
		}
		return true
	}
	for _, m := range c.marks {
		if m.x < p.xlo || m.x > p.xhi {
			continue
		}
		x := p.px(m.x)
		placed := false
		var text string
		var lx, ly float64
		for _, label := range []string{m.label, m.short} {
			if label == "" || placed {
				continue
			}
			w := textWidth(label, 10)
			// To the right of the line, or to its left where the
			// right has no room.
			a := x + 3
			if a+w > p.x1 {
				a = x - 3 - w
			}
			a = math.Max(a, 2)
			for r := 0; r < markRows; r++ {
				if fits(r, a, a+w) {
					rows[r] = append(rows[r], [2]float64{a, a + w})
					text, lx, ly, placed = label, a, p.y0+11+float64(r)*rowH, true
					break
				}
			}
		}
		fmt.Fprintf(b, `<line class="vm %s" x1="%s" y1="%s" x2="%s" y2="%s"><title>%s</title></line>`, m.class, f1(x), f1(p.y0), f1(x), f1(p.y1), esc(m.label))
		if placed {
			fmt.Fprintf(b, `<text class="vml" x="%s" y="%s">%s</text>`, f1(lx), f1(ly), esc(text))
		}
	}
}

// series draws each line, and its points with their values to hover
// (always for a line of one point).
func (c *chart) series(b *strings.Builder, p *plot) {
	for _, l := range c.lines {
		var pts []string
		for i := range l.xs {
			if l.ok(i) {
				pts = append(pts, f1(p.px(l.xs[i]))+","+f1(p.py(l.ys[i])))
			}
		}
		if len(pts) == 0 {
			continue
		}
		if len(pts) > 1 {
			fmt.Fprintf(b, `<polyline class="%s" points="%s"/>`, l.class(), strings.Join(pts, " "))
		}
		if !l.markers && len(pts) > 1 {
			continue
		}
		fmt.Fprintf(b, `<g class="m%d">`, l.color%10)
		for i := range l.xs {
			if !l.ok(i) {
				continue
			}
			tip := l.name + ": " + p.yfmt(l.ys[i]) + " at " + p.xfmt(l.xs[i])
			if i < len(l.tips) && l.tips[i] != "" {
				tip = l.tips[i]
			}
			fmt.Fprintf(b, `<circle cx="%s" cy="%s" r="3.5"><title>%s</title></circle>`, f1(p.px(l.xs[i])), f1(p.py(l.ys[i])), esc(tip))
		}
		b.WriteString(`</g>`)
	}
}

// layoutLegend places the named lines' legend entries in rows along the
// top, starting a new row where an entry would run past the chart.
func (c *chart) layoutLegend() []legendEntry {
	var out []legendEntry
	x, y := float64(padL), 18.0
	for i, l := range c.lines {
		if l.name == "" {
			continue
		}
		w := 20 + textWidth(l.name, 11)
		if x > padL && x+w > chartW-4 {
			x, y = padL, y+rowH
		}
		out = append(out, legendEntry{line: i, x: x, y: y})
		x += w + 14
	}
	return out
}

// legend names the named lines along the top, each with its stroke.
func (c *chart) legend(b *strings.Builder, p *plot) {
	if len(p.legend) == 0 {
		return
	}
	b.WriteString(`<g class="legend">`)
	for _, e := range p.legend {
		l := c.lines[e.line]
		fmt.Fprintf(b, `<line class="%s" x1="%s" y1="%s" x2="%s" y2="%s"/>`, l.class(), f1(e.x), f1(e.y-4), f1(e.x+16), f1(e.y-4))
		fmt.Fprintf(b, `<text x="%s" y="%s">%s</text>`, f1(e.x+20), f1(e.y), esc(l.name))
	}
	b.WriteString(`</g>`)
}

// ok reports whether the line's point i is drawn: it has a y, and both
// are finite.
func (l *line) ok(i int) bool { return i < len(l.ys) && finite(l.xs[i]) && finite(l.ys[i]) }

// class is the line's stroke class: its color, and dashed.
func (l *line) class() string {
	cls := fmt.Sprintf("s%d", l.color%10)
	if l.dashed {
		cls += " dashed"
	}
	return cls
}

// textWidth estimates a label's width at a font size, on the wide side
// of the usual sans-serif fonts (capitals and digits are the widest; the
// browser test measures the real boxes).
func textWidth(s string, size float64) float64 {
	w := 0.0
	for _, r := range s {
		switch {
		case r == ' ' || r == '.' || r == ',' || r == ':' || r == 'i' || r == 'l' || r == 'j' || r == '(' || r == ')' || r == '/':
			w += 0.36
		case r == 'm' || r == 'w' || r == 'M' || r == 'W' || r == '%' || r == '—':
			w += 0.95
		case r >= 'A' && r <= 'Z' || r == 'µ':
			w += 0.74
		case r >= '0' && r <= '9':
			w += 0.64
		default:
			w += 0.62
		}
	}
	return math.Ceil(w * size)
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// f1 writes a coordinate with one decimal.
func f1(v float64) string { return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64) }

func esc(s string) string { return html.EscapeString(oneLine(s)) }

// niceTicks returns round tick values covering [lo, hi], about n of them.
func niceTicks(lo, hi float64, n int) []float64 {
	if !(hi > lo) {
		return []float64{lo}
	}
	step := niceNum((hi-lo)/float64(max(n-1, 1)), true)
	start := math.Floor(lo/step) * step
	end := math.Ceil(hi/step-1e-9) * step
	var out []float64
	for v := start; v <= end+step*1e-6; v += step {
		out = append(out, math.Round(v/step)*step)
		if len(out) > 50 {
			break
		}
	}
	return out
}

// niceNum rounds x to 1, 2, 2.5 or 5 times a power of ten.
func niceNum(x float64, round bool) float64 {
	if x <= 0 {
		return 1
	}
	exp := math.Floor(math.Log10(x))
	f := x / math.Pow(10, exp)
	var nf float64
	switch {
	case f <= 1:
		nf = 1
	case f <= 2:
		nf = 2
	case f <= 2.5:
		nf = 2.5
	case f <= 5:
		nf = 5
	default:
		nf = 10
	}
	return nf * math.Pow(10, exp)
}

// fmtNumber writes a tick value: "0", "2.5", "1,500", "12k", "1.5M".
func fmtNumber(v float64) string {
	a := math.Abs(v)
	switch {
	case a >= 1e6:
		return trimFloat(v/1e6, 2) + "M"
	case a >= 1e4:
		return trimFloat(v/1e3, 1) + "k"
	case a >= 100:
		return strconv.FormatFloat(math.Round(v), 'f', 0, 64)
	}
	return trimFloat(v, 3)
}

// fmtMS writes a value in milliseconds as a duration: "0", "850µs", "120ms",
// "1.5s".
func fmtMS(v float64) string {
	a := math.Abs(v)
	switch {
	case v == 0:
		return "0"
	case a >= 1000:
		return trimFloat(v/1000, 3) + "s"
	case a < 1:
		return trimFloat(v*1000, 1) + "µs"
	}
	return trimFloat(v, 2) + "ms"
}

// fmtSeconds writes a time offset in seconds: "0s", "45s", "1m30s".
func fmtSeconds(v float64) string {
	if math.Abs(v) < 60 {
		return trimFloat(v, 2) + "s"
	}
	m := math.Floor(v / 60)
	s := v - m*60
	if s < 0.005 {
		return fmt.Sprintf("%.0fm", m)
	}
	return fmt.Sprintf("%.0fm%ss", m, trimFloat(s, 1))
}

// trimFloat writes v with at most prec decimals and no trailing zeros.
func trimFloat(v float64, prec int) string {
	s := strconv.FormatFloat(v, 'f', prec, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	if s == "-0" {
		s = "0"
	}
	return s
}
