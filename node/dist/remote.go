package dist

import (
	"time"

	"ergo.services/ergo/gen"
)

// remoteNode is the peer as Ergo's gen.RemoteNode.
type remoteNode struct {
	c       *Connection
	started time.Time
}

func (r *remoteNode) Name() gen.Atom       { return r.c.peer.Name }
func (r *remoteNode) Creation() int64      { return int64(r.c.peer.Creation) }
func (r *remoteNode) Version() gen.Version { return r.c.peer.Version }

// Uptime is not part of the Erlang handshake; the connection's age is the best known bound.
func (r *remoteNode) Uptime() int64           { return r.ConnectionUptime() }
func (r *remoteNode) ConnectionUptime() int64 { return int64(time.Since(r.started).Seconds()) }

func (r *remoteNode) Info() gen.RemoteNodeInfo {
	c := r.c
	info := gen.RemoteNodeInfo{
		Node:             c.peer.Name,
		Uptime:           r.Uptime(),
		ConnectionUptime: r.ConnectionUptime(),
		Version:          c.peer.Version,
		ProtoVersion:     Version,
		PoolSize:         1,
		MaxMessageSize:   c.opts.MaxMessageSize,
		MessagesIn:       c.messagesIn.Load(),
		MessagesOut:      c.messagesOut.Load(),
		BytesIn:          c.bytesIn.Load(),
		BytesOut:         c.bytesOut.Load(),
	}
	c.mu.Lock()
	if c.conn != nil {
		info.PoolDSN = []string{c.conn.RemoteAddr().String()}
	}
	c.mu.Unlock()
	return info
}

// Spawn and SpawnRegister use Ergo's process factories, which BEAM nodes do not have.
func (r *remoteNode) Spawn(name gen.Atom, options gen.ProcessOptions, args ...any) (gen.PID, error) {
	return gen.PID{}, unsupported("Ergo remote spawn")
}

func (r *remoteNode) SpawnRegister(register gen.Atom, name gen.Atom, options gen.ProcessOptions, args ...any) (gen.PID, error) {
	return gen.PID{}, unsupported("Ergo remote spawn")
}

// Ergo applications are not OTP applications; starting one on a BEAM node is not possible.
func (r *remoteNode) ApplicationStart(name gen.Atom, options gen.ApplicationOptions) error {
	return unsupported("Ergo application start")
}
func (r *remoteNode) ApplicationStartTemporary(name gen.Atom, options gen.ApplicationOptions) error {
	return unsupported("Ergo application start")
}
func (r *remoteNode) ApplicationStartTransient(name gen.Atom, options gen.ApplicationOptions) error {
	return unsupported("Ergo application start")
}
func (r *remoteNode) ApplicationStartPermanent(name gen.Atom, options gen.ApplicationOptions) error {
	return unsupported("Ergo application start")
}
func (r *remoteNode) ApplicationInfo(name gen.Atom) (gen.ApplicationInfo, error) {
	return gen.ApplicationInfo{}, unsupported("Ergo application info")
}

// Disconnect closes the connection; both sides see the node go down.
func (r *remoteNode) Disconnect() {
	r.c.shutdown(gen.ErrNoConnection)
}
