// Package manifold is Discord's Manifold fan-out protocol on a Go node: Elixir nodes running
// Manifold and Go nodes share one fan-out system.
//
// A Go node started with Start registers the processes Elixir's Manifold addresses on every
// node: 'Elixir.Manifold.Partitioner' and 'Manifold.Partitioner_1' .. 'Manifold.Partitioner_31',
// and 'Manifold.Sender_0' .. 'Manifold.Sender_127'. They accept exactly the casts Manifold sends,
// of every version:
//
//	{'$gen_cast', {send, Pids, Msg}}                        partitioner, Manifold <= 1.7.0
//	{'$gen_cast', {send, Pids, Msg, Opts}}                  partitioner, newer Manifold
//	{'$gen_cast', {send, Partitioner, Pids, Msg}}           sender, 1.5
//	{'$gen_cast', {send, Partitioner, Pids, Msg, PackMode}} sender, 1.6 / 1.7
//	{'$gen_cast', {send, Partitioner, Pids, Msg, Opts}}     sender, newer Manifold
//
// where Msg may be {manifold_binary, term_to_binary(Msg)} (pack_mode binary). A partitioner
// hands the pids of this node to its workers, worker phash2(Pid, Workers+1) for each pid, as
// Manifold does, and each worker unpacks the message once and sends it to its pids, which are
// ordinary Ergo processes: they receive the message in HandleMessage, decoded once and shared.
// Pids of other nodes in a partitioner's cast are relayed, in order, to the partitioner of the
// same name on their node, so a Go node can stand in for a BEAM partitioner or relay node.
//
// Go code fans out with Manifold.Send, the way Manifold.send/3 does: nil pids dropped, pids
// grouped by node, one cast per node to the partitioner chosen for the calling process
// (phash2(self(), Partitioners), or pinned by a key as set_partitioner_key/1 does), pack_mode
// binary and send_mode offload, in the cast shape each receiving node runs. Beyond Manifold, a
// message going to several nodes is encoded once, not once per node.
//
// Order: for one sending process and one receiving process, messages arrive in the order they
// were sent, on every path (the same sender always uses the same partitioner or sender, the
// same receiver always the same worker). As with Manifold, mixing offload and direct sends to
// the same receivers gives no order between the two paths.
//
// A crashed or killed worker is replaced, and a crashed or killed partitioner restarted with
// new workers; the old workers deliver nothing after the new ones' first deliveries, so the
// order holds across a restart too.
//
// Nothing is lost without a trace: a cast that cannot be read or passed on counts in
// Stats.Dropped; a delivery a receiver's bounded mailbox refuses (which a BEAM process never
// does), and what a worker or partitioner held when it was killed (lost with it, as with
// Manifold's), in Stats.Undelivered; each with log lines. A receiver that no longer exists is
// skipped, as Manifold's send to a dead pid is.
package manifold
