// Command benchplot draws the benchmark scripts' results as one SVG chart: for every measured
// item, how Go compares with BEAM measured in the same run, on a log scale centred on parity,
// with the target marked.
//
//	benchplot -o scripts/bench-results/ratios.svg scripts/bench-results/*.tsv
//
// Each input line is GROUP<TAB>ITEM<TAB>SPEEDUP[<TAB>TARGET], where SPEEDUP is how many times
// faster Go is than BEAM (BEAM's time over Go's, or Go's rate over BEAM's): above 1 Go is
// faster. Lines starting with # are comments. Groups keep the order they first appear in.
package main

import (
	"bufio"
	"errors"
	"fmt"
	"html"
	"io"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/pflag"
)

type row struct {
	group, item string
	speedup     float64
	target      float64 // 0: none
}

func main() {
	out := pflag.StringP("output", "o", "", "SVG file to write (default: standard output)")
	title := pflag.String("title", "Go against BEAM, measured in the same run", "chart title")
	pflag.Parse()
	if pflag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "benchplot: give one or more result files (GROUP\\tITEM\\tSPEEDUP[\\tTARGET] lines)")
		os.Exit(2)
	}
	var rows []row
	for _, name := range pflag.Args() {
		f, err := os.Open(name)
		if err != nil {
			fail(err)
		}
		rs, err := parse(f)
		f.Close()
		if err != nil {
			fail(fmt.Errorf("%s: %w", name, err))
		}
		rows = append(rows, rs...)
	}
	if len(rows) == 0 {
		fail(errors.New("no results in the files given"))
	}
	w := io.Writer(os.Stdout)
	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			fail(err)
		}
		defer f.Close()
		w = f
	}
	if err := draw(w, *title, rows); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "benchplot:", err)
	os.Exit(1)
}

func parse(r io.Reader) ([]row, error) {
	var rows []row
	sc := bufio.NewScanner(r)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		f := strings.Split(text, "\t")
		if len(f) < 3 || len(f) > 4 {
			return nil, fmt.Errorf("line %d: want GROUP, ITEM, SPEEDUP and an optional TARGET separated by tabs", line)
		}
		r := row{group: f[0], item: f[1]}
		var err error
		if r.speedup, err = positive(f[2]); err != nil {
			return nil, fmt.Errorf("line %d: speedup: %w", line, err)
		}
		if len(f) == 4 && f[3] != "" {
			if r.target, err = positive(f[3]); err != nil {
				return nil, fmt.Errorf("line %d: target: %w", line, err)
			}
		}
		rows = append(rows, r)
	}
	return rows, sc.Err()
}

func positive(s string) (float64, error) {
	v, err := strconv.ParseFloat(strings.TrimSuffix(s, "x"), 64)
	if err != nil {
		return 0, err
	}
	if !(v > 0) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("%q is not a positive number", s)
	}
	return v, nil
}

// Geometry of the chart, in SVG user units.
const (
	labelWidth = 300
	plotWidth  = 480
	rightPad   = 70
	rowHeight  = 22
	groupGap   = 30
	topPad     = 62
	bottomPad  = 52
	minRatio   = 0.1 // the scale's ends: ten times slower and ten times faster
	maxRatio   = 10.0
)

func xOf(v float64) float64 {
	v = math.Min(math.Max(v, minRatio), maxRatio)
	return labelWidth + plotWidth*(math.Log10(v)-math.Log10(minRatio))/(math.Log10(maxRatio)-math.Log10(minRatio))
}

func draw(w io.Writer, title string, rows []row) error {
	groups := 0
	for i, r := range rows {
		if i == 0 || r.group != rows[i-1].group {
			groups++
		}
	}
	height := topPad + groups*groupGap + len(rows)*rowHeight + bottomPad
	width := labelWidth + plotWidth + rightPad
	b := &strings.Builder{}
	fmt.Fprintf(b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="Helvetica, Arial, sans-serif" font-size="12">`+"\n", width, height, width, height)
	fmt.Fprintf(b, `<rect width="%d" height="%d" fill="#ffffff"/>`+"\n", width, height)
	fmt.Fprintf(b, `<text x="%d" y="22" font-size="15" font-weight="bold">%s</text>`+"\n", 10, html.EscapeString(title))
	fmt.Fprintf(b, `<text x="%d" y="42" fill="#555">bars: times faster than BEAM (log scale; right of 1×: Go is faster); ◆ target</text>`+"\n", 10)

	plotTop := topPad - 8
	plotBottom := height - bottomPad + 4
	// Grid lines at the usual ratios, parity drawn darker.
	for _, v := range []float64{0.1, 0.2, 0.5, 1, 2, 5, 10} {
		x := xOf(v)
		stroke, sw := "#dddddd", 1.0
		if v == 1 {
			stroke, sw = "#333333", 1.5
		}
		fmt.Fprintf(b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="%s" stroke-width="%.1f"/>`+"\n", x, plotTop, x, plotBottom, stroke, sw)
		fmt.Fprintf(b, `<text x="%.1f" y="%d" text-anchor="middle" fill="#555">%s×</text>`+"\n", x, plotBottom+16, strconv.FormatFloat(v, 'g', -1, 64))
	}

	y := topPad
	for i, r := range rows {
		if i == 0 || r.group != rows[i-1].group {
			y += groupGap
			fmt.Fprintf(b, `<text x="10" y="%d" font-weight="bold">%s</text>`+"\n", y-8, html.EscapeString(r.group))
		}
		mid := float64(y) + rowHeight/2
		fmt.Fprintf(b, `<text x="%d" y="%.1f" text-anchor="end" dominant-baseline="middle">%s</text>`+"\n", labelWidth-8, mid, html.EscapeString(r.item))
		x0, x1 := xOf(1), xOf(r.speedup)
		fill := "#3a8f4b" // Go faster
		if r.speedup < 1 {
			fill = "#c0504d"
		}
		left, right := math.Min(x0, x1), math.Max(x0, x1)
		fmt.Fprintf(b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%d" fill="%s"/>`+"\n", left, float64(y)+4, math.Max(right-left, 1), rowHeight-8, fill)
		anchor, tx := "start", right+4
		if r.speedup < 1 {
			anchor, tx = "end", left-4
		}
		// Keep the number clear of the target's mark when the mark sits just beyond the bar.
		if r.target > 0 {
			mark := xOf(r.target)
			if anchor == "start" && mark+6 > tx && mark-6 < tx+44 {
				tx = mark + 9
			}
			if anchor == "end" && mark-6 < tx && mark+6 > tx-44 {
				tx = mark - 9
			}
		}
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="%s" dominant-baseline="middle">%s×</text>`+"\n", tx, mid, anchor, strconv.FormatFloat(r.speedup, 'f', 2, 64))
		if r.target > 0 {
			tx := xOf(r.target)
			fmt.Fprintf(b, `<path d="M %.1f %.1f l 5 5 l -5 5 l -5 -5 z" fill="#1f4e79"/>`+"\n", tx, mid-5)
		}
		y += rowHeight
	}
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}
