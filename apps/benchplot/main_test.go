package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseReadsRowsAndSkipsComments(t *testing.T) {
	rows, err := parse(strings.NewReader("# a comment\n\netf\tEncode chat\t1.43\t1\ndist\tGo->BEAM\t0.55x\n"))
	require.NoError(t, err)
	require.Equal(t, []row{{"etf", "Encode chat", 1.43, 1}, {"dist", "Go->BEAM", 0.55, 0}}, rows)
}

func TestParseRejectsBadLines(t *testing.T) {
	for in, want := range map[string]string{
		"etf\tEncode\n":         "line 1",
		"etf\tEncode\tfast\n":   "speedup",
		"etf\tEncode\t-1\n":     "not a positive number",
		"etf\tEncode\t1\tx\n":   "target",
		"a\tb\t1\t2\t3\n":       "line 1",
		"ok\tok\t1\nbad\t\t0\n": "line 2",
	} {
		_, err := parse(strings.NewReader(in))
		require.ErrorContains(t, err, want, "input %q", in)
	}
}

func TestDrawPlacesEveryRow(t *testing.T) {
	var b strings.Builder
	rows := []row{{"etf", "Encode <chat>", 1.5, 1}, {"etf", "Decode", 0.5, 1}, {"dist", "small", 20, 0}}
	require.NoError(t, draw(&b, "title & more", rows))
	svg := b.String()
	require.True(t, strings.HasPrefix(svg, "<svg "))
	require.Contains(t, svg, "Encode &lt;chat&gt;")
	require.Contains(t, svg, "title &amp; more")
	require.Contains(t, svg, "1.50×")
	require.Contains(t, svg, "0.50×")
	require.Contains(t, svg, "20.00×") // beyond the scale: the bar stops at its end, the number is true
	require.Equal(t, 2, strings.Count(svg, "<path "))
}
