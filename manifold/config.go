package manifold

import (
	"fmt"
	"runtime"

	"ergo.services/ergo/gen"

	"github.com/gobeam/gobeam/etf"
)

// Config is Manifold's configuration (config :manifold, ...) for a Go node, with Go defaults.
type Config struct {
	// Partitioners is how many partitioners a sending process chooses from, on every node, as
	// Manifold's partitioners setting: the index is phash2(self(), Partitioners). A BEAM node
	// that receives must run at least that many (its own partitioners setting), or casts to the
	// names it lacks are lost, as between BEAM nodes configured differently. NodePartitioners
	// overrides it per node. A Go node always runs all 32. 1..32; 0 is the default,
	// GOMAXPROCS (at most 32).
	Partitioners int
	// NodePartitioners is Partitioners for particular nodes (say, Elixir nodes with
	// partitioners: 1), each 1..32.
	NodePartitioners map[gen.Atom]int
	// Workers is the workers_per_partitioner setting: each partitioner runs Workers+1 workers,
	// as Manifold does. 1..MaxWorkers; 0 is the default, GOMAXPROCS.
	Workers int
	// Senders is how many senders offloaded sends choose from (phash2(self(), Senders)). A Go
	// node always runs all 128. 1..128; 0 is the default, GOMAXPROCS (at most 128).
	Senders int
	// Shape is the cast shape sent to partitioners on other nodes: Shape3 for Manifold up to
	// 1.7.0 (0 is Shape3, the default), Shape4 for newer Manifold. NodeShapes overrides it
	// per node.
	Shape      Shape
	NodeShapes map[gen.Atom]Shape
	// Cast sends request ({send, ...}) to a partitioner or sender as a gen_server cast: it is
	// Manifold's gen_module. It runs in the partitioner or sending process, so a Cast that
	// blocks holds up the fan-out behind it. Default: from.Send(to, {'$gen_cast', Request})
	// when the node is connected to to's node, and else a dial in the background with the
	// casts queued behind it in order, as gen_server:cast does not wait for a connection
	// either. Casts for another node's partitioner that has not been checked yet queue the
	// same way until it has; with a Cast of the program's own, the casting process waits for
	// that check (a round trip) before it calls Cast.
	Cast func(from gen.Process, to gen.ProcessID, request etf.Tuple) error

	// ownCast: Cast is the default, which has the request encoded for the wire before it
	// returns, so the request may hold the pids a caller of Send lent.
	ownCast bool
}

// MaxWorkers is the most workers per partitioner Config takes: each of the 32 partitioners
// runs Workers+1 processes, and a fan-out gains nothing from far more workers than cores.
const MaxWorkers = 1024

// check refuses settings that Manifold has no meaning for, rather than reading them as
// something else: a partitioner count beyond the 32 names would send to names no node runs.
func (c Config) check() error {
	if c.Partitioners < 0 || c.Partitioners > MaxPartitioners {
		return fmt.Errorf("manifold: Partitioners is 1..%d (0: the default), not %d", MaxPartitioners, c.Partitioners)
	}
	for node, n := range c.NodePartitioners {
		if n < 1 || n > MaxPartitioners {
			return fmt.Errorf("manifold: NodePartitioners[%s] is 1..%d, not %d", node, MaxPartitioners, n)
		}
	}
	if c.Workers < 0 || c.Workers > MaxWorkers {
		return fmt.Errorf("manifold: Workers is 1..%d (0: the default), not %d", MaxWorkers, c.Workers)
	}
	if c.Senders < 0 || c.Senders > MaxSenders {
		return fmt.Errorf("manifold: Senders is 1..%d (0: the default), not %d", MaxSenders, c.Senders)
	}
	if c.Shape != 0 && c.Shape != Shape3 && c.Shape != Shape4 {
		return fmt.Errorf("manifold: Shape is Shape3 or Shape4 (0: Shape3), not %d", int(c.Shape))
	}
	for node, s := range c.NodeShapes {
		if s != Shape3 && s != Shape4 {
			return fmt.Errorf("manifold: NodeShapes[%s] is Shape3 or Shape4, not %d", node, int(s))
		}
	}
	return nil
}

func (c Config) withDefaults() Config {
	procs := runtime.GOMAXPROCS(0)
	if c.Partitioners == 0 {
		c.Partitioners = min(procs, MaxPartitioners)
	}
	if c.Workers == 0 {
		c.Workers = min(procs, MaxWorkers)
	}
	if c.Senders == 0 {
		c.Senders = min(procs, MaxSenders)
	}
	if c.Shape == 0 {
		c.Shape = Shape3
	}
	if c.Cast == nil {
		c.ownCast = true
		c.Cast = func(from gen.Process, to gen.ProcessID, request etf.Tuple) error {
			return from.Send(to, etf.Tuple{atomGenCast, request})
		}
	}
	return c
}

func (c Config) partitionersFor(node gen.Atom) int {
	if n, ok := c.NodePartitioners[node]; ok {
		return n
	}
	return c.Partitioners
}

func (c Config) shapeFor(node gen.Atom) Shape {
	if s, ok := c.NodeShapes[node]; ok {
		return s
	}
	return c.Shape
}
