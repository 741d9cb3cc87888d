package dist

import (
	"testing"

	"github.com/gobeam/gobeam/etf"
)

// BenchmarkAppendRefs writes the atom cache references of a typical message (a cast's atoms,
// all cached by then): the cost the atom cache adds to every send.
func BenchmarkAppendRefs(b *testing.B) {
	var w atomCacheWriter
	atoms := []etf.Atom{"ex@10.0.0.6", "$gen_cast", "send", "Elixir.Manifold.Partitioner"}
	buf := w.appendRefs(nil, atoms)
	for b.Loop() {
		buf = w.appendRefs(buf[:0], atoms)
	}
}
