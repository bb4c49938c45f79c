package output

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math"
	"os"

	"github.com/prometheus/prometheus/promql"
)

// pngColors match ansiColors in order, darkened where the terminal colour would fade into a white
// background.
var pngColors = []color.RGBA{
	{0, 150, 170, 255},   // cyan
	{215, 150, 0, 255},   // yellow
	{190, 30, 170, 255},  // magenta
	{40, 160, 50, 255},   // green
	{215, 40, 40, 255},   // red
	{40, 80, 215, 255},   // blue
	{130, 130, 130, 255}, // white, as grey
	{60, 60, 60, 255},    // bright black
}

var (
	pngBackground = color.RGBA{255, 255, 255, 255}
	pngGrid       = color.RGBA{228, 228, 228, 255}
	pngAxis       = color.RGBA{100, 100, 100, 255}
	pngText       = color.RGBA{30, 30, 30, 255}
	pngFaint      = color.RGBA{110, 110, 110, 255}
)

const (
	pngWidth   = 1000
	pngPlotH   = 400
	pngScale   = 2                                // font dots to pixels
	pngCharW   = (glyphW + glyphSpace) * pngScale // advance per character
	pngLineH   = glyphH*pngScale + 6
	pngPad     = 16
	pngCapMid  = 7 * pngScale / 2 // from a text line's top to the middle of its capitals
	pngSwatchW = 28
)

// pngLayout places the parts of the image.
type pngLayout struct {
	size                            image.Point
	plot                            image.Rectangle
	titleY, noteY, xLabelY, legendY int
	footY                           int
	axisTop, axisMid, axisBottom    string
	timeStart, timeMid, timeEnd     string
	gutter                          int
}

func layoutPNG(c *chart) pngLayout {
	var l pngLayout
	l.axisTop, l.axisMid, l.axisBottom = c.axisValues()
	l.timeStart, l.timeMid, l.timeEnd = c.timeLabels()
	l.gutter = max(textWidth(l.axisTop, pngScale), textWidth(l.axisMid, pngScale), textWidth(l.axisBottom, pngScale)) + 12
	y := pngPad
	if c.title != "" {
		l.titleY, y = y, y+pngLineH
	}
	if c.note != "" {
		l.noteY, y = y, y+pngLineH
	}
	y += pngCapMid + 4 // room for the top value label, centred on the plot's top edge
	l.plot = image.Rect(pngPad+l.gutter, y, pngWidth-pngPad-pngCharW, y+pngPlotH)
	l.xLabelY = l.plot.Max.Y + 10
	l.legendY = l.xLabelY + pngLineH + 8
	l.footY = l.legendY + len(c.lines)*pngLineH
	l.size = image.Pt(pngWidth, l.footY+len(c.footnotes())*pngLineH+pngPad)
	return l
}

// plotY is the pixel row of value v.
func (l pngLayout) plotY(c *chart, v float64) int {
	return l.plot.Min.Y + int(math.Round((1-c.height(v))*float64(l.plot.Dy()-1)))
}

// WritePNG draws a range result as a line chart into a PNG file at path: the chart -o graph
// prints, with the same series, order, colours and legend.
func WritePNG(path string, m promql.Matrix, o Options) error {
	if len(m) == 0 {
		return errors.New("no series to draw")
	}
	c := newChart(m, o)
	if len(c.lines) == 0 {
		return errors.New("no float samples to draw")
	}
	img := renderPNG(c)
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return f.Close()
}

func renderPNG(c *chart) *image.RGBA {
	l := layoutPNG(c)
	img := image.NewRGBA(image.Rectangle{Max: l.size})
	draw.Draw(img, img.Bounds(), image.NewUniform(pngBackground), image.Point{}, draw.Src)
	maxChars := (pngWidth - 2*pngPad) / pngCharW

	if c.title != "" {
		drawText(img, pngPad, l.titleY, truncate(c.title, maxChars), pngText, pngScale)
	}
	if c.note != "" {
		drawText(img, pngPad, l.noteY, truncate(c.note, maxChars), pngFaint, pngScale)
	}

	// Grid and value axis labels at the top, middle and bottom, as in the terminal.
	p := l.plot
	ticks := []struct {
		y     int
		label string
	}{
		{l.plotY(c, c.hi), l.axisTop},
		{l.plotY(c, (c.hi+c.lo)/2), l.axisMid},
		{l.plotY(c, c.lo), l.axisBottom},
	}
	for _, t := range ticks {
		hline(img, p.Min.X, p.Max.X, t.y, pngGrid)
		drawText(img, p.Min.X-10-textWidth(t.label, pngScale), t.y-pngCapMid, t.label, pngText, pngScale)
	}
	midX := p.Min.X + p.Dx()/2
	vline(img, midX, p.Min.Y, p.Max.Y, pngGrid)
	vline(img, p.Max.X-1, p.Min.Y, p.Max.Y, pngGrid)
	vline(img, p.Min.X-1, p.Min.Y, p.Max.Y+1, pngAxis)
	hline(img, p.Min.X-1, p.Max.X, p.Max.Y, pngAxis)

	drawText(img, p.Min.X, l.xLabelY, l.timeStart, pngText, pngScale)
	drawText(img, midX-textWidth(l.timeMid, pngScale)/2, l.xLabelY, l.timeMid, pngText, pngScale)
	drawText(img, p.Max.X-textWidth(l.timeEnd, pngScale), l.xLabelY, l.timeEnd, pngText, pngScale)

	// The lowest-ranked series first, so the top ones stay on top where lines cross.
	for i := len(c.lines) - 1; i >= 0; i-- {
		col := pngColors[i%len(pngColors)]
		c.segments(c.lines[i], p.Dx(), p.Dy(), func(x0, y0, x1, y1 int) {
			line(x0, y0, x1, y1, func(x, y int) {
				for dy := -1; dy <= 1; dy++ {
					for dx := -1; dx <= 1; dx++ {
						if pt := image.Pt(p.Min.X+x+dx, p.Min.Y+y+dy); pt.In(p) {
							img.SetRGBA(pt.X, pt.Y, col)
						}
					}
				}
			})
		})
	}

	lasts := make([]string, len(c.lines))
	lw := 0
	for i, ln := range c.lines {
		lasts[i] = formatCompact(ln.last, 3)
		lw = max(lw, len([]rune(lasts[i])))
	}
	for i, ln := range c.lines {
		y := l.legendY + i*pngLineH
		sw := image.Rect(pngPad, y+pngCapMid-3, pngPad+pngSwatchW, y+pngCapMid+3)
		draw.Draw(img, sw, image.NewUniform(pngColors[i%len(pngColors)]), image.Point{}, draw.Src)
		text := fmt.Sprintf("last %*s  %s", lw, lasts[i], ln.legend)
		x := pngPad + pngSwatchW + pngCharW
		drawText(img, x, y, truncate(text, (pngWidth-pngPad-x)/pngCharW), pngText, pngScale)
	}
	for i, f := range c.footnotes() {
		drawText(img, pngPad, l.footY+i*pngLineH, truncate(f, maxChars), pngFaint, pngScale)
	}
	return img
}

func hline(img *image.RGBA, x0, x1, y int, c color.RGBA) {
	for x := x0; x < x1; x++ {
		img.SetRGBA(x, y, c)
	}
}

func vline(img *image.RGBA, x, y0, y1 int, c color.RGBA) {
	for y := y0; y < y1; y++ {
		img.SetRGBA(x, y, c)
	}
}
