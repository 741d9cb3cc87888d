package manifold

import (
	"strconv"
	"strings"

	"ergo.services/ergo/gen"
)

const (
	// MaxPartitioners is the most partitioners Manifold has on a node.
	MaxPartitioners = 32
	// MaxSenders is the most senders Manifold has on a node.
	MaxSenders = 128
)

// PartitionerName is the registered name of partitioner i (0..31): index 0 keeps the name of
// the Elixir module, 'Elixir.Manifold.Partitioner'; the others are 'Manifold.Partitioner_<i>',
// without the Elixir prefix.
func PartitionerName(i int) gen.Atom {
	if i == 0 {
		return "Elixir.Manifold.Partitioner"
	}
	return gen.Atom("Manifold.Partitioner_" + strconv.Itoa(i))
}

// SenderName is the registered name of sender i (0..127): 'Manifold.Sender_<i>'.
func SenderName(i int) gen.Atom {
	return gen.Atom("Manifold.Sender_" + strconv.Itoa(i))
}

// isPartitionerName tells whether name is one of the 32 partitioner names.
func isPartitionerName(name gen.Atom) bool {
	if name == PartitionerName(0) {
		return true
	}
	rest, ok := strings.CutPrefix(string(name), "Manifold.Partitioner_")
	if !ok {
		return false
	}
	i, err := strconv.Atoi(rest)
	return err == nil && i >= 1 && i < MaxPartitioners && strconv.Itoa(i) == rest
}
