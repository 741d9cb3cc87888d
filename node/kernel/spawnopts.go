package kernel

import (
	"fmt"
	"math/big"

	"github.com/gobeam/gobeam/etf"
)

// spawnOptions are the options of a spawn request that mean something to this node. The
// requesting node keeps reply, reply_tag and the options of {monitor, Opts} to itself and sends
// the rest; every option a BEAM node accepts in a remote spawn is accepted here, and the ones
// about its scheduler and heap, which have no Go counterpart, are accepted and have no effect.
type spawnOptions struct {
	link, monitor bool
}

// BadOptionError says which spawn option a request carried that BEAM refuses; the request is
// answered with badopt, as BEAM answers it.
type BadOptionError struct {
	Option etf.Term
}

func (e *BadOptionError) Error() string { return fmt.Sprintf("kernel: bad spawn option %v", e.Option) }

// parseSpawnOptions checks the options of a spawn request as a BEAM node checks those of a
// remote spawn (erts checked on OTP 25, 27 and 29): link, monitor, and {Name, Value} for
// priority, fullsweep_after, min_heap_size, min_bin_vheap_size, max_heap_size,
// message_queue_data, async_dist and scheduler. Anything else, {link, true} included, is badopt.
// Values are checked for their kind only (a non-negative integer, a map, a boolean), not
// against a BEAM node's schedulers and heap limits, which a Go node has not: values BEAM
// refuses for those ({scheduler, 99999}, a max_heap_size map with unknown keys, integers
// beyond its word size) are taken here and mean nothing, as every such option does.
func parseSpawnOptions(opts etf.List) (spawnOptions, error) {
	var so spawnOptions
	for _, o := range opts {
		switch v := o.(type) {
		case etf.Atom:
			switch v {
			case "link":
				so.link = true
				continue
			case "monitor":
				so.monitor = true
				continue
			}
		case etf.Tuple:
			if len(v) == 2 && validSpawnOption(v[0], v[1]) {
				continue
			}
		}
		return spawnOptions{}, &BadOptionError{Option: o}
	}
	return so, nil
}

func validSpawnOption(name, value etf.Term) bool {
	n, ok := name.(etf.Atom)
	if !ok {
		return false
	}
	switch n {
	case "priority":
		switch value {
		case etf.Atom("low"), etf.Atom("normal"), etf.Atom("high"), etf.Atom("max"):
			return true
		}
	case "fullsweep_after", "min_heap_size", "min_bin_vheap_size", "scheduler":
		return nonNegativeInteger(value)
	case "max_heap_size":
		if _, ok := value.(etf.Map); ok {
			return true
		}
		return nonNegativeInteger(value)
	case "message_queue_data":
		return value == etf.Atom("off_heap") || value == etf.Atom("on_heap")
	case "async_dist":
		_, ok := value.(bool)
		return ok
	}
	return false
}

func nonNegativeInteger(t etf.Term) bool {
	switch v := t.(type) {
	case int64:
		return v >= 0
	case *big.Int:
		return v.Sign() >= 0
	}
	return false
}
