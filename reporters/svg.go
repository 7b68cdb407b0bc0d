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
	// class is "step" (a step boundary) or "pct" (a percentile).
	class string
}

// chart is one chart.
type chart struct {
	// title and desc are for screen readers (<title>, <desc>).
	title, desc    string
	xLabel, yLabel string
	xFmt, yFmt     func(float64) string
	lines          []line
	hist           *histogram
	marks          []vmark
	// xMin and xMax, when xFixed, set the x range instead of the data.
	xFixed     bool
	xMin, xMax float64
}

// axis margins
const (
	padL = 62
	padR = 18
	padT = 34
	padB = 42
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
	xfmt, yfmt     func(float64) string
}

func (p *plot) px(x float64) float64 { return p.x0 + (x-p.xlo)/(p.xhi-p.xlo)*(p.x1-p.x0) }
func (p *plot) py(y float64) float64 { return p.y1 - y/p.ytop*(p.y1-p.y0) }

// plot lays the chart out: x from its data (or its fixed range), widened
// to round ticks for line charts, y from 0 to a round tick above its data;
// ok is false when there is nothing to draw.
func (c *chart) plot() (p *plot, ok bool) {
	p = &plot{x0: padL, x1: chartW - padR, y0: padT, y1: chartH - padB, xfmt: c.xFmt, yfmt: c.yFmt}
	if p.xfmt == nil {
		p.xfmt = fmtNumber
	}
	if p.yfmt == nil {
		p.yfmt = fmtNumber
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
	p.xt = niceTicks(xlo, xhi, 6)
	if !c.xFixed && c.hist == nil {
		xlo, xhi = math.Min(xlo, p.xt[0]), math.Max(xhi, p.xt[len(p.xt)-1])
	}
	if yhi <= 0 {
		yhi = 1
	}
	p.yt = niceTicks(0, yhi, 5)
	p.xlo, p.xhi, p.ytop = xlo, xhi, p.yt[len(p.yt)-1]
	return p, true
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
		fmt.Fprintf(b, `<text x="%s" y="%s" text-anchor="end">%s</text>`, f1(p.x0-6), f1(p.py(t)+4), esc(p.yfmt(t)))
	}
	slack := 1e-9 * math.Abs(p.xhi-p.xlo)
	for _, t := range p.xt {
		if t < p.xlo-slack || t > p.xhi+slack {
			continue
		}
		fmt.Fprintf(b, `<line x1="%s" y1="%s" x2="%s" y2="%s"/>`, f1(p.px(t)), f1(p.y1), f1(p.px(t)), f1(p.y1+4))
		fmt.Fprintf(b, `<text x="%s" y="%s" text-anchor="middle">%s</text>`, f1(p.px(t)), f1(p.y1+16), esc(p.xfmt(t)))
	}
	if c.xLabel != "" {
		fmt.Fprintf(b, `<text class="label" x="%s" y="%d" text-anchor="middle">%s</text>`, f1((p.x0+p.x1)/2), chartH-6, esc(c.xLabel))
	}
	if c.yLabel != "" {
		mid := f1((p.y0 + p.y1) / 2)
		fmt.Fprintf(b, `<text class="label" x="%d" y="%s" text-anchor="middle" transform="rotate(-90 %d %s)">%s</text>`,
			14, mid, 14, mid, esc(c.yLabel))
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

// vmarks draws the vertical markers within the x range, with their labels.
func (c *chart) vmarks(b *strings.Builder, p *plot) {
	for i, m := range c.marks {
		if m.x < p.xlo || m.x > p.xhi {
			continue
		}
		x := p.px(m.x)
		fmt.Fprintf(b, `<line class="vm %s" x1="%s" y1="%s" x2="%s" y2="%s"/>`, m.class, f1(x), f1(p.y0), f1(x), f1(p.y1))
		if m.label != "" {
			// A row per marker (three at most: p50, p95, p99), so that close
			// values do not overlap.
			ly := p.y0 + 10 + float64(i%3)*11
			anchor := "start"
			lx := x + 3
			if x > (p.x0+p.x1)*0.8 {
				anchor, lx = "end", x-3
			}
			fmt.Fprintf(b, `<text class="vml" x="%s" y="%s" text-anchor="%s">%s</text>`, f1(lx), f1(ly), anchor, esc(m.label))
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

// legend names the named lines along the top, each with its stroke.
func (c *chart) legend(b *strings.Builder, p *plot) {
	named := 0
	for _, l := range c.lines {
		if l.name != "" {
			named++
		}
	}
	if named == 0 {
		return
	}
	b.WriteString(`<g class="legend">`)
	x := p.x0
	for _, l := range c.lines {
		if l.name == "" {
			continue
		}
		fmt.Fprintf(b, `<line class="%s" x1="%s" y1="14" x2="%s" y2="14"/>`, l.class(), f1(x), f1(x+16))
		fmt.Fprintf(b, `<text x="%s" y="18">%s</text>`, f1(x+20), esc(l.name))
		x += 20 + float64(textWidth(l.name)) + 14
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

// textWidth estimates a label's width in the chart's 11px font.
func textWidth(s string) int { return int(math.Ceil(float64(len([]rune(s))) * 6.2)) }

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
