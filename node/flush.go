package node

import (
	"context"
	"errors"

	"ergo.services/ergo/gen"

	"github.com/gobeam/gobeam/node/dist"
)

// Flush waits until every message n has queued toward BEAM nodes so far is written to their
// sockets, or ctx is done. Stopping a node closes its connections at once and drops what their
// queues still hold; a node that must not lose what it accepted to send (a relay, a partitioner)
// flushes first:
//
//	node.Flush(ctx, n)
//	n.Stop()
//
// A connection that ends while it is flushed is not an error: there is nothing left to wait for.
func Flush(ctx context.Context, n gen.Node) error {
	network := n.Network()
	var errs []error
	for _, name := range network.Nodes() {
		remote, err := network.Node(name)
		if err != nil {
			continue // gone since Nodes() listed it
		}
		c, ok := dist.ConnectionOf(remote)
		if !ok {
			continue
		}
		if err := c.Flush(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
