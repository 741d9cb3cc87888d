package manifold

import (
	"fmt"
	"slices"

	"ergo.services/ergo/gen"

	"github.com/gobeam/gobeam/etf"
)

// Option is an option of Send, as the options of Manifold.send/3.
type Option func(*sendOptions) error

type sendOptions struct {
	pack           bool
	offload        bool
	noconnect      bool
	nosuspend      bool
	partitionerKey any
	hasPartKey     bool
	senderKey      any
	hasSenderKey   bool
}

// PackBinary is pack_mode: :binary: a message for many pids is encoded once into
// {manifold_binary, term_to_binary(Msg)} and decoded once by each receiving worker.
func PackBinary() Option { return func(o *sendOptions) error { o.pack = true; return nil } }

// Offload is send_mode: :offload: a sender process does the packing and the casts.
func Offload() Option { return func(o *sendOptions) error { o.offload = true; return nil } }

// NoConnect and NoSuspend are newer Manifold's noconnect: true and nosuspend: true, carried
// in Shape4 casts to the workers that make the final sends.
func NoConnect() Option { return func(o *sendOptions) error { o.noconnect = true; return nil } }

// NoSuspend: see NoConnect.
func NoSuspend() Option { return func(o *sendOptions) error { o.nosuspend = true; return nil } }

// PartitionerKey pins the send to partitioner KeyHash(key) % Partitioners, as
// Manifold.set_partitioner_key/1 pins a process.
func PartitionerKey(key any) Option {
	return func(o *sendOptions) error {
		if _, err := KeyHash(key); err != nil {
			return err
		}
		o.partitionerKey, o.hasPartKey = key, true
		return nil
	}
}

// SenderKey pins an offloaded send to sender KeyHash(key) % Senders, as
// Manifold.set_sender_key/1 does.
func SenderKey(key any) Option {
	return func(o *sendOptions) error {
		if _, err := KeyHash(key); err != nil {
			return err
		}
		o.senderKey, o.hasSenderKey = key, true
		return nil
	}
}

// Send sends msg to every pid of pids (a gen.PID, a []gen.PID, or a list ([]any, etf.List)
// of pids; nil entries and the zero gen.PID, Go's nil pid, are skipped) the Manifold way, on
// behalf of process from: grouped by node, one cast per node to the partitioner chosen for
// from. Local Go receivers and BEAM receivers alike get msg as an ordinary message, from one
// of their node's workers.
// Send keeps nothing of pids: the caller may reuse the slice as soon as it returns.
func (m *Manifold) Send(from gen.Process, pids any, msg any, options ...Option) error {
	var o sendOptions
	for _, opt := range options {
		if err := opt(&o); err != nil {
			return err
		}
	}
	list, lent, err := normalizePids(pids)
	if err != nil {
		return err
	}
	if len(list) == 0 {
		return nil // Manifold.send(nil, _) and send([nil], _) are ok and send nothing
	}
	req := senderRequest{pids: list, lent: lent, msg: msg, pack: o.pack && len(list) > 1, opts: o.wireOptions()}
	req.partitioner, err = m.partitionerFor(from.PID(), o, m.cfg.Partitioners)
	if err != nil {
		return err
	}
	if len(m.cfg.NodePartitioners) > 0 {
		// Nodes that run another number of partitioners get an index within their own count.
		for _, pid := range list {
			n := m.cfg.partitionersFor(pid.Node)
			if n == m.cfg.Partitioners {
				continue
			}
			if req.perNode == nil {
				req.perNode = make(map[gen.Atom]gen.Atom)
			}
			if _, done := req.perNode[pid.Node]; !done {
				req.perNode[pid.Node], _ = m.partitionerFor(from.PID(), o, n)
			}
		}
	}
	if o.offload {
		name, err := m.senderFor(from.PID(), o)
		if err != nil {
			return err
		}
		if req.lent { // the sender reads the pids later
			req.pids, req.lent = slices.Clone(req.pids), false
		}
		return from.Send(name, &offload{req: req})
	}
	m.fanout(from, req)
	return nil
}

// wireOptions are the options a Shape4 cast carries to the workers.
func (o sendOptions) wireOptions() etf.List {
	var opts etf.List
	if o.noconnect {
		opts = append(opts, etf.Tuple{atomNoconnect, true})
	}
	if o.nosuspend {
		opts = append(opts, etf.Tuple{atomNosuspend, true})
	}
	return opts
}

// partitionerFor is Manifold's current_partitioner() among p partitioners: pinned by key,
// else phash2(self(), p).
func (m *Manifold) partitionerFor(self gen.PID, o sendOptions, p int) (gen.Atom, error) {
	if o.hasPartKey {
		h, err := KeyHash(o.partitionerKey)
		if err != nil {
			return "", err
		}
		return PartitionerName(int(h % uint64(p))), nil
	}
	return PartitionerName(int(etf.Phash2PID(self, uint32(p)))), nil
}

func (m *Manifold) senderFor(self gen.PID, o sendOptions) (gen.Atom, error) {
	s := m.cfg.Senders
	if o.hasSenderKey {
		h, err := KeyHash(o.senderKey)
		if err != nil {
			return "", err
		}
		return SenderName(int(h % uint64(s))), nil
	}
	return SenderName(int(etf.Phash2PID(self, uint32(s)))), nil
}

// fanout packs (if asked) and casts the pids of each node to the request's partitioner there.
func (m *Manifold) fanout(from gen.Process, req senderRequest) {
	m.sends.Add(1)
	msg := req.msg
	if req.pack && len(req.pids) > 1 {
		packed, err := pack(msg)
		if err != nil {
			m.dropped.Add(1)
			from.Log().Error("manifold: cannot encode the message to pack it: %s", err)
			return
		}
		msg = packed
	}
	local := from.Node().Name()
	mine, groups := splitByNode(req.pids, local)
	if req.lent {
		// A group of all the pids is the caller's slice itself. The local partitioner reads
		// its pids after Send returned, and so may a Cast of the program's own; the default
		// Cast has them encoded before it returns.
		switch {
		case len(mine) == len(req.pids):
			mine = slices.Clone(mine)
		case len(groups) == 1 && len(groups[0].pids) == len(req.pids) && !m.cfg.ownCast:
			groups[0].pids = slices.Clone(groups[0].pids)
		}
	}
	if len(mine) > 0 {
		name := req.partitioner
		to := gen.ProcessID{Name: name, Node: local}
		if err := from.Send(to, &localCast{cast{pids: castPids{slice: mine}, msg: msg, shape: Shape4, opts: req.opts}}); err != nil {
			m.dropped.Add(1)
			from.Log().Error("manifold: local partitioner %s unreachable: %s", name, err)
		}
	}
	if len(groups) > 0 {
		relay(from, m, req.nameFor, groups, msg, req.opts)
	}
}

// normalizePids reads Send's pids argument. lent reports that the result is the caller's own
// []gen.PID (it held no zero pid to drop), which Send must not keep or change: a fan-out to
// other nodes then costs no copy of the list.
func normalizePids(pids any) (list []gen.PID, lent bool, err error) {
	switch p := pids.(type) {
	case nil:
		return nil, false, nil
	case gen.PID:
		if p == (gen.PID{}) {
			return nil, false, nil
		}
		return []gen.PID{p}, false, nil
	case []gen.PID:
		zero := slices.Index(p, gen.PID{})
		if zero < 0 {
			return p, true, nil
		}
		out := make([]gen.PID, zero, len(p)-1)
		copy(out, p[:zero])
		for _, pid := range p[zero+1:] {
			if pid != (gen.PID{}) {
				out = append(out, pid)
			}
		}
		return out, false, nil
	case etf.Atom:
		if p == atomNil {
			return nil, false, nil
		}
	case []any:
		list, err := pidList(etf.List(p))
		return list, false, err
	case etf.List:
		list, err := pidList(p)
		return list, false, err
	}
	return nil, false, fmt.Errorf("manifold: cannot send to a %T: want a pid or a list of pids", pids)
}
