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

// svg renders the chart.
func (c *chart) svg() string {
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %d %d" role="img" aria-label="%s">`, chartW, chartH, esc(c.title))
	fmt.Fprintf(&b, "<title>%s</title>", esc(c.title))
	if c.desc != "" {
		fmt.Fprintf(&b, "<desc>%s</desc>", esc(c.desc))
	}

	// Data ranges.
	xlo, xhi := math.Inf(1), math.Inf(-1)
	yhi := 0.0
	has := false
	for _, l := range c.lines {
		for i := range l.xs {
			if i >= len(l.ys) || !finite(l.xs[i]) || !finite(l.ys[i]) {
				continue
			}
			xlo, xhi = math.Min(xlo, l.xs[i]), math.Max(xhi, l.xs[i])
			yhi = math.Max(yhi, l.ys[i])
			has = true
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
	if c.xFixed {
		xlo, xhi = c.xMin, c.xMax
	}
	for _, m := range c.marks {
		if has && m.class == "pct" {
			xhi = math.Max(xhi, m.x)
		}
	}
	x0, x1 := float64(padL), float64(chartW-padR)
	y0, y1 := float64(padT), float64(chartH-padB)
	if !has {
		fmt.Fprintf(&b, `<rect class="frame" x="%d" y="%d" width="%d" height="%d"/>`, padL, padT, chartW-padL-padR, chartH-padT-padB)
		fmt.Fprintf(&b, `<text class="nodata" x="%s" y="%s" text-anchor="middle">no data</text></svg>`, f1((x0+x1)/2), f1((y0+y1)/2))
		return b.String()
	}
	if xhi <= xlo {
		pad := math.Max(math.Abs(xlo)*0.1, 1)
		nonNeg := xlo >= 0
		xlo, xhi = xlo-pad, xhi+pad
		if nonNeg && xlo < 0 {
			xlo = 0
		}
	}
	xt := niceTicks(xlo, xhi, 6)
	if !c.xFixed && c.hist == nil {
		xlo, xhi = math.Min(xlo, xt[0]), math.Max(xhi, xt[len(xt)-1])
	}
	if yhi <= 0 {
		yhi = 1
	}
	yt := niceTicks(0, yhi, 5)
	ytop := yt[len(yt)-1]
	px := func(x float64) float64 { return x0 + (x-xlo)/(xhi-xlo)*(x1-x0) }
	py := func(y float64) float64 { return y1 - y/ytop*(y1-y0) }

	// Grid and axes.
	b.WriteString(`<g class="grid">`)
	for _, t := range yt {
		fmt.Fprintf(&b, `<line x1="%s" y1="%s" x2="%s" y2="%s"/>`, f1(x0), f1(py(t)), f1(x1), f1(py(t)))
	}
	b.WriteString(`</g><g class="axis">`)
	fmt.Fprintf(&b, `<line x1="%s" y1="%s" x2="%s" y2="%s"/>`, f1(x0), f1(y1), f1(x1), f1(y1))
	fmt.Fprintf(&b, `<line x1="%s" y1="%s" x2="%s" y2="%s"/>`, f1(x0), f1(y0), f1(x0), f1(y1))
	yfmt := c.yFmt
	if yfmt == nil {
		yfmt = fmtNumber
	}
	xfmt := c.xFmt
	if xfmt == nil {
		xfmt = fmtNumber
	}
	for _, t := range yt {
		fmt.Fprintf(&b, `<text x="%s" y="%s" text-anchor="end">%s</text>`, f1(x0-6), f1(py(t)+4), esc(yfmt(t)))
	}
	for _, t := range xt {
		if t < xlo-1e-9*math.Abs(xhi-xlo) || t > xhi+1e-9*math.Abs(xhi-xlo) {
			continue
		}
		fmt.Fprintf(&b, `<line x1="%s" y1="%s" x2="%s" y2="%s"/>`, f1(px(t)), f1(y1), f1(px(t)), f1(y1+4))
		fmt.Fprintf(&b, `<text x="%s" y="%s" text-anchor="middle">%s</text>`, f1(px(t)), f1(y1+16), esc(xfmt(t)))
	}
	if c.xLabel != "" {
		fmt.Fprintf(&b, `<text class="label" x="%s" y="%d" text-anchor="middle">%s</text>`, f1((x0+x1)/2), chartH-6, esc(c.xLabel))
	}
	if c.yLabel != "" {
		fmt.Fprintf(&b, `<text class="label" x="%d" y="%s" text-anchor="middle" transform="rotate(-90 %d %s)">%s</text>`,
			14, f1((y0+y1)/2), 14, f1((y0+y1)/2), esc(c.yLabel))
	}
	b.WriteString(`</g>`)

	// Histogram bars.
	if h := c.hist; h != nil {
		b.WriteString(`<g class="bars">`)
		for i, n := range h.counts {
			lo := h.start + float64(i)*h.width
			hi := lo + h.width
			xa, xb := px(lo), px(hi)
			w := math.Max(xb-xa-1, 0.5)
			tip := fmt.Sprintf("%g–%g: %d", lo, hi, n)
			if h.tip != nil {
				tip = h.tip(lo, hi, n)
			}
			fmt.Fprintf(&b, `<rect x="%s" y="%s" width="%s" height="%s"><title>%s</title></rect>`,
				f1(xa+0.5), f1(py(float64(n))), f1(w), f1(y1-py(float64(n))), esc(tip))
		}
		b.WriteString(`</g>`)
		if h.overflow > 0 {
			fmt.Fprintf(&b, `<text class="note" x="%s" y="%s" text-anchor="end">+%d beyond</text>`, f1(x1), f1(y0-4), h.overflow)
		}
	}

	// Vertical markers.
	for i, m := range c.marks {
		if m.x < xlo || m.x > xhi {
			continue
		}
		x := px(m.x)
		fmt.Fprintf(&b, `<line class="vm %s" x1="%s" y1="%s" x2="%s" y2="%s"/>`, m.class, f1(x), f1(y0), f1(x), f1(y1))
		if m.label != "" {
			// A row per marker (three at most: p50, p95, p99), so that close
			// values do not overlap.
			ly := y0 + 10 + float64(i%3)*11
			anchor := "start"
			lx := x + 3
			if x > (x0+x1)*0.8 {
				anchor, lx = "end", x-3
			}
			fmt.Fprintf(&b, `<text class="vml" x="%s" y="%s" text-anchor="%s">%s</text>`, f1(lx), f1(ly), anchor, esc(m.label))
		}
	}

	// Lines and markers.
	for _, l := range c.lines {
		var pts []string
		for i := range l.xs {
			if i >= len(l.ys) || !finite(l.xs[i]) || !finite(l.ys[i]) {
				continue
			}
			pts = append(pts, f1(px(l.xs[i]))+","+f1(py(l.ys[i])))
		}
		if len(pts) == 0 {
			continue
		}
		cls := fmt.Sprintf("s%d", l.color%10)
		if l.dashed {
			cls += " dashed"
		}
		if len(pts) > 1 {
			fmt.Fprintf(&b, `<polyline class="%s" points="%s"/>`, cls, strings.Join(pts, " "))
		}
		if l.markers || len(pts) == 1 {
			fmt.Fprintf(&b, `<g class="m%d">`, l.color%10)
			for i := range l.xs {
				if i >= len(l.ys) || !finite(l.xs[i]) || !finite(l.ys[i]) {
					continue
				}
				tip := l.name + ": " + yfmt(l.ys[i]) + " at " + xfmt(l.xs[i])
				if i < len(l.tips) && l.tips[i] != "" {
					tip = l.tips[i]
				}
				fmt.Fprintf(&b, `<circle cx="%s" cy="%s" r="3.5"><title>%s</title></circle>`, f1(px(l.xs[i])), f1(py(l.ys[i])), esc(tip))
			}
			b.WriteString(`</g>`)
		}
	}

	// Legend, along the top.
	named := 0
	for _, l := range c.lines {
		if l.name != "" {
			named++
		}
	}
	if named > 0 {
		b.WriteString(`<g class="legend">`)
		x := x0
		for _, l := range c.lines {
			if l.name == "" {
				continue
			}
			cls := fmt.Sprintf("s%d", l.color%10)
			if l.dashed {
				cls += " dashed"
			}
			fmt.Fprintf(&b, `<line class="%s" x1="%s" y1="14" x2="%s" y2="14"/>`, cls, f1(x), f1(x+16))
			fmt.Fprintf(&b, `<text x="%s" y="18">%s</text>`, f1(x+20), esc(l.name))
			x += 20 + float64(textWidth(l.name)) + 14
		}
		b.WriteString(`</g>`)
	}
	b.WriteString(`</svg>`)
	return b.String()
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
