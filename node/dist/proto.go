package dist

import (
	"fmt"
	"time"

	"ergo.services/ergo/gen"
)

// Version names this protocol to Ergo, which finds plug-ins by Version().Str(). Routes to BEAM
// nodes carry it as their ProtoVersion.
var Version = gen.Version{Name: "erlang-dist", Release: "6", License: gen.LicenseMIT}

// Options tune the distribution connections of a node.
type Options struct {
	// TickTime is net_ticktime: a peer silent for this long is declared down, and a tick is
	// sent after a quarter of it without other traffic. Default 60 s, as in erl.
	TickTime time.Duration
	// MaxMessageSize bounds one incoming packet, a reassembled fragmented message, and what a
	// compressed term in a message may expand to, in bytes; the fragmented messages not yet
	// complete together hold at most 4 times it. A peer that sends more loses its connection.
	// 0 means no limit (see reader.decodeLimit for compressed terms).
	MaxMessageSize int
	// MaxQueueBytes bounds what waits to be written to one peer; senders block beyond it, as a
	// busy distribution port suspends Erlang senders. Default 64 MiB.
	MaxQueueBytes int
	// FragmentSize is the payload size of one fragment when a large message is split (peers
	// with DFLAG_FRAGMENTS). Default 64 KiB.
	FragmentSize int
	// Spawn creates the process a peer asks for with a spawn request (erlang:spawn_request,
	// Node.spawn/4, erpc and rpc) and returns its pid and a function that lets it run. The
	// connection sets up the link or monitor the request asked for, queues the reply, and only
	// then calls run: on BEAM nothing of the new process reaches the parent before the reply,
	// so its messages, exit or DOWN must not either. Nil refuses every request with notsup.
	Spawn func(SpawnRequest) (pid gen.PID, run func(), err error)
	// TrapsExits tells whether a local process traps exits. Ergo keeps that inside each actor,
	// so the node layer publishes it; without it every process counts as not trapping, and an
	// exit signal with reason normal from a peer process is ignored, as Erlang ignores it.
	TrapsExits func(gen.PID) bool
	// PeerFromHandshake extracts what the handshake learnt about the peer from Ergo's handshake
	// result. The node package sets it to read its handshake's result.
	PeerFromHandshake func(gen.HandshakeResult) (Peer, error)
}

// DefaultTickTime is erl's default net_ticktime.
const DefaultTickTime = 60 * time.Second

func (o Options) withDefaults() Options {
	if o.TickTime <= 0 {
		o.TickTime = DefaultTickTime
	}
	if o.MaxQueueBytes <= 0 {
		o.MaxQueueBytes = 64 << 20
	}
	if o.FragmentSize <= 0 {
		o.FragmentSize = defaultFragmentSize
	}
	return o
}

// Proto is the Erlang distribution protocol as an Ergo gen.NetworkProto.
type Proto struct {
	opts Options
}

// New returns the protocol with the given options.
func New(opts Options) *Proto {
	return &Proto{opts: opts.withDefaults()}
}

// Version implements gen.NetworkProto.
func (p *Proto) Version() gen.Version { return Version }

// NewConnection implements gen.NetworkProto: Ergo calls it after a successful handshake.
func (p *Proto) NewConnection(core gen.Core, result gen.HandshakeResult, log gen.Log) (gen.Connection, error) {
	// A dial that found the connection another dial had just made (see handshake.Existing):
	// hand that one back, and Ergo keeps using it.
	if e, ok := result.Custom.(interface{ ExistingConnection() gen.RemoteNode }); ok {
		if c, ok := ConnectionOf(e.ExistingConnection()); ok {
			return c, nil
		}
		return nil, fmt.Errorf("dist: the existing connection to %s is not of this protocol", result.Peer)
	}
	if p.opts.PeerFromHandshake == nil {
		return nil, fmt.Errorf("dist: no PeerFromHandshake in the options")
	}
	peer, err := p.opts.PeerFromHandshake(result)
	if err != nil {
		return nil, err
	}
	opts := p.opts
	if result.NodeMaxMessageSize > 0 && (opts.MaxMessageSize == 0 || result.NodeMaxMessageSize < opts.MaxMessageSize) {
		opts.MaxMessageSize = result.NodeMaxMessageSize
	}
	return newConnection(core, peer, opts, log), nil
}

// Serve implements gen.NetworkProto: it runs the connection until it ends and returns why.
func (p *Proto) Serve(conn gen.Connection, dial gen.NetworkDial) error {
	c, ok := conn.(*Connection)
	if !ok {
		return fmt.Errorf("dist: Serve got a %T, not a connection of this protocol", conn)
	}
	return c.serve()
}
