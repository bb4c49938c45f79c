package output

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/prometheus/prometheus/promql"
)

// graphRows is the plot's height in text rows. Odd, so the middle row's centre is exactly the
// middle of the value axis and its label is true.
const graphRows = 11

// minGraphWidth keeps the plot usable in very narrow terminals; lines may wrap there.
const minGraphWidth = 40

// ansiColors are the series' colours, in rank order: the eight most distinct of the basic ANSI
// set, which every terminal has.
var ansiColors = []string{"36", "33", "35", "32", "31", "34", "37", "90"}

// glyphs tell series apart without colour.
var glyphs = []rune{'*', '+', 'o', 'x', '#', '@', '%', '='}

// WriteGraph draws a range result as a line chart of o.Width columns (80 if unset): value axis
// labels on the left, times below, a legend of the series under that. With o.Color, series are
// drawn in braille dots (two by four per character) in distinct colours; without it, in distinct
// ASCII glyphs at one point per character, except a lone series, which keeps the finer braille.
func WriteGraph(w io.Writer, m promql.Matrix, o Options) error {
	if len(m) == 0 {
		_, err := fmt.Fprintln(w, "No series.")
		return err
	}
	c := newChart(m, o)
	width := max(o.width(), minGraphWidth)
	var b strings.Builder
	if c.title != "" {
		b.WriteString(truncate(c.title, width) + "\n")
	}
	if c.note != "" {
		b.WriteString(truncate(c.note, width) + "\n")
	}
	if len(c.lines) == 0 {
		b.WriteString("No float samples to draw.\n")
	} else {
		braille := o.Color || len(c.lines) == 1
		c.plot(&b, width, braille, o.Color)
		c.legend(&b, width, braille, o.Color)
	}
	for _, f := range c.footnotes() {
		b.WriteString(truncate(f, width) + "\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// cell is one character of the plot.
type cell struct {
	dots  uint8 // braille dots set
	glyph rune  // or the glyph, without braille
	owner int   // the series drawn last here; -1 for none
}

// brailleBit maps a dot's position in its character (column 0-1, row 0-3) to its bit in the
// Unicode braille block.
var brailleBit = [2][4]uint8{{0x01, 0x02, 0x04, 0x40}, {0x08, 0x10, 0x20, 0x80}}

func (c *chart) plot(b *strings.Builder, width int, braille, color bool) {
	top, mid, bottom := c.axisValues()
	gutter := max(utf8.RuneCountInString(top), utf8.RuneCountInString(mid), utf8.RuneCountInString(bottom))
	cols := width - gutter - 2
	grid := make([][]cell, graphRows)
	for r := range grid {
		grid[r] = make([]cell, cols)
		for x := range grid[r] {
			grid[r][x].owner = -1
		}
	}
	// The lowest-ranked series first, so the top ones stay on top where lines cross.
	for i := len(c.lines) - 1; i >= 0; i-- {
		if braille {
			c.segments(c.lines[i], cols*2, graphRows*4, func(x0, y0, x1, y1 int) {
				line(x0, y0, x1, y1, func(x, y int) {
					g := &grid[y/4][x/2]
					g.dots |= brailleBit[x%2][y%4]
					g.owner = i
				})
			})
			continue
		}
		c.segments(c.lines[i], cols, graphRows, func(x0, y0, x1, y1 int) {
			line(x0, y0, x1, y1, func(x, y int) {
				grid[y][x].glyph = glyphs[i]
				grid[y][x].owner = i
			})
		})
	}

	for r, row := range grid {
		label, tick := "", "│"
		switch r {
		case 0:
			label, tick = top, "┤"
		case graphRows / 2:
			label, tick = mid, "┤"
		case graphRows - 1:
			label, tick = bottom, "┤"
		}
		b.WriteString(strings.Repeat(" ", gutter-utf8.RuneCountInString(label)) + label + " " + tick)
		for len(row) > 0 && row[len(row)-1].owner < 0 {
			row = row[:len(row)-1]
		}
		var line strings.Builder
		current := -1
		for _, g := range row {
			ch := ' '
			switch {
			case braille && g.dots != 0:
				ch = rune(0x2800) + rune(g.dots)
			case !braille && g.glyph != 0:
				ch = g.glyph
			}
			if color && ch != ' ' && g.owner != current {
				if current >= 0 {
					line.WriteString(ansiReset)
				}
				line.WriteString(ansiColor(g.owner))
				current = g.owner
			}
			line.WriteRune(ch)
		}
		if current >= 0 {
			line.WriteString(ansiReset)
		}
		b.WriteString(line.String() + "\n")
	}

	b.WriteString(strings.Repeat(" ", gutter+1) + "└" + strings.Repeat("─", cols) + "\n")
	start, middle, end := c.timeLabels()
	axis := []rune(strings.Repeat(" ", cols+1))
	put := func(s string, at int) {
		for i, r := range []rune(s) {
			axis[at+i] = r
		}
	}
	n0, nm, n1 := utf8.RuneCountInString(start), utf8.RuneCountInString(middle), utf8.RuneCountInString(end)
	switch {
	case n0+nm+n1+4 <= cols:
		put(start, 0)
		put(middle, (cols-nm)/2)
		put(end, cols+1-n1)
	case n0+n1+2 <= cols:
		put(start, 0)
		put(end, cols+1-n1)
	default:
		put(truncate(start, cols), 0)
	}
	b.WriteString(strings.Repeat(" ", gutter+1) + strings.TrimRight(string(axis), " ") + "\n")
}

// legend lists the drawn series, ranked by last value, each with its marker.
func (c *chart) legend(b *strings.Builder, width int, braille, color bool) {
	lasts := make([]string, len(c.lines))
	lw := 0
	for i, l := range c.lines {
		lasts[i] = formatCompact(l.last, 3)
		lw = max(lw, utf8.RuneCountInString(lasts[i]))
	}
	for i, l := range c.lines {
		marker := "━━"
		if !braille {
			marker = strings.Repeat(string(glyphs[i]), 2)
		}
		if color {
			marker = ansiColor(i) + marker + ansiReset
		}
		last := "last " + strings.Repeat(" ", lw-utf8.RuneCountInString(lasts[i])) + lasts[i]
		b.WriteString("  " + marker + " " + last + "  " + truncate(l.legend, width-12-lw) + "\n")
	}
}

const ansiReset = "\x1b[0m"

func ansiColor(i int) string { return "\x1b[" + ansiColors[i%len(ansiColors)] + "m" }

// truncate shortens s to n runes, marking the cut with an ellipsis.
func truncate(s string, n int) string {
	if n <= 0 {
		return ""
	}
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
