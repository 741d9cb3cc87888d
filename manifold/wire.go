package manifold

import (
	"fmt"

	"ergo.services/ergo/gen"

	"github.com/gobeam/gobeam/etf"
)

// Shape is the form of the cast a partitioner receives; which one a BEAM node understands
// depends on its Manifold version, and the two are not interchangeable: a partitioner of one
// version ignores the other's cast.
type Shape int

const (
	// Shape3 is {send, Pids, Msg}, what Manifold up to 1.7.0 sends and accepts.
	Shape3 Shape = 3
	// Shape4 is {send, Pids, Msg, Opts}, what newer Manifold sends and accepts; Opts carries
	// the send options (noconnect, nosuspend) to the final send.
	Shape4 Shape = 4
)

func (s Shape) String() string {
	switch s {
	case Shape3:
		return "{send, Pids, Msg}"
	case Shape4:
		return "{send, Pids, Msg, Opts}"
	}
	return fmt.Sprintf("Shape(%d)", int(s))
}

var (
	atomGenCast        = etf.Atom("$gen_cast")
	atomSend           = etf.Atom("send")
	atomManifoldBinary = etf.Atom("manifold_binary")
	atomNoconnect      = etf.Atom("noconnect")
	atomNosuspend      = etf.Atom("nosuspend")
	atomPackMode       = etf.Atom("pack_mode")
	atomBinary         = etf.Atom("binary")
	atomNil            = etf.Atom("nil")
)

// cast is what a partitioner is asked to deliver.
type cast struct {
	pids  castPids
	msg   any
	shape Shape
	opts  etf.List // the options of a Shape4 cast, passed on as they came
}

// castPids are the pids of a cast: the list decoded from the wire, checked but not copied, so
// that a partitioner can hand a fan-out to its own receivers to the workers where the decoder
// left it; or a slice.
type castPids struct {
	list  etf.List // checked by checkPidList
	slice []gen.PID
}

func (c castPids) len() int {
	if c.list != nil {
		return len(c.list)
	}
	return len(c.slice)
}

// pidAt returns the pid at position i; ok is false where a list holds a nil.
func (c castPids) pidAt(i int) (gen.PID, bool) {
	if c.list != nil {
		return listPID(c.list[i])
	}
	return c.slice[i], true
}

// asSlice returns the pids as a slice, copied out of a list.
func (c castPids) asSlice() []gen.PID {
	if c.list == nil {
		return c.slice
	}
	return copyPids(c.list)
}

// parseCast reads {'$gen_cast', {send, Pids, Msg}} or {'$gen_cast', {send, Pids, Msg, Opts}}.
func parseCast(message any) (cast, bool, error) {
	outer, ok := message.(etf.Tuple)
	if !ok || len(outer) != 2 || outer[0] != atomGenCast {
		return cast{}, false, nil
	}
	req, ok := outer[1].(etf.Tuple)
	if !ok || len(req) < 3 || len(req) > 4 || req[0] != atomSend {
		return cast{}, false, nil
	}
	list, err := checkPidList(req[1])
	if err != nil {
		return cast{}, true, err
	}
	c := cast{pids: castPids{list: list}, msg: req[2], shape: Shape3}
	if len(req) == 4 {
		c.shape = Shape4
		if c.opts, ok = req[3].(etf.List); !ok && req[3] != nil {
			return cast{}, true, fmt.Errorf("manifold: cast options are a %T, not a list", req[3])
		}
	}
	return c, true, nil
}

// term builds the cast tuple, ready to send to a partitioner. The pids stay a []gen.PID, which
// etf encodes as a list without boxing each pid.
func (c cast) term(msg any) etf.Tuple {
	pids := c.pids.asSlice()
	if c.shape == Shape4 {
		opts := c.opts
		if opts == nil {
			opts = etf.List{}
		}
		return etf.Tuple{atomGenCast, etf.Tuple{atomSend, pids, msg, opts}}
	}
	return etf.Tuple{atomGenCast, etf.Tuple{atomSend, pids, msg}}
}

// checkPidList checks the Pids of a cast: a proper list of pids. Manifold never puts nil there
// (it drops nils before grouping), but a nil, the atom nil and Go's zero pid are skipped rather
// than refused.
func checkPidList(t any) (etf.List, error) {
	list, ok := t.(etf.List)
	if !ok {
		return nil, fmt.Errorf("manifold: cast pids are a %T, not a list", t)
	}
	for _, e := range list {
		if _, ok := listPID(e); ok {
			continue
		}
		switch p := e.(type) {
		case gen.PID, nil:
		case etf.Atom:
			if p != atomNil {
				return nil, fmt.Errorf("manifold: %v in a cast's pid list", p)
			}
		default:
			return nil, fmt.Errorf("manifold: a %T in a cast's pid list", e)
		}
	}
	return list, nil
}

// listPID returns the pid an element of a checked pid list names; ok is false for the
// elements that are skipped.
func listPID(e any) (pid gen.PID, ok bool) {
	pid, ok = e.(gen.PID)
	return pid, ok && pid != (gen.PID{}) // Go's nil pid, in a list a Go caller gave Send
}

// pidList reads the Pids of a cast (see checkPidList) into a slice of their own.
func pidList(t any) ([]gen.PID, error) {
	list, err := checkPidList(t)
	if err != nil {
		return nil, err
	}
	return copyPids(list), nil
}

// copyPids copies the pids of a checked pid list into a slice of their own.
func copyPids(list etf.List) []gen.PID {
	pids := make([]gen.PID, 0, len(list))
	for _, e := range list {
		if pid, ok := listPID(e); ok {
			pids = append(pids, pid)
		}
	}
	return pids
}

// senderRequest is what a sender is asked to do.
type senderRequest struct {
	partitioner gen.Atom
	pids        []gen.PID
	lent        bool // pids is the caller's slice: whatever keeps it past Send needs a copy
	msg         any
	pack        bool
	opts        etf.List // options of the newest request shape
	// perNode names the partitioner for nodes that run another number of partitioners than
	// this one (Config.NodePartitioners); the others use partitioner.
	perNode map[gen.Atom]gen.Atom
}

// nameFor is the partitioner to cast to on node.
func (r senderRequest) nameFor(node gen.Atom) gen.Atom {
	if name, ok := r.perNode[node]; ok {
		return name
	}
	return r.partitioner
}

// parseSenderRequest reads the three versions of a sender's cast:
// {send, Partitioner, Pids, Msg} (1.5), {send, Partitioner, Pids, Msg, PackMode} (1.6, 1.7)
// and {send, Partitioner, Pids, Msg, Opts} (newer).
func parseSenderRequest(message any) (senderRequest, bool, error) {
	outer, ok := message.(etf.Tuple)
	if !ok || len(outer) != 2 || outer[0] != atomGenCast {
		return senderRequest{}, false, nil
	}
	req, ok := outer[1].(etf.Tuple)
	if !ok || len(req) < 4 || len(req) > 5 || req[0] != atomSend {
		return senderRequest{}, false, nil
	}
	name, ok := req[1].(etf.Atom)
	if !ok || !isPartitionerName(name) {
		return senderRequest{}, true, fmt.Errorf("manifold: %v is not a partitioner name", req[1])
	}
	pids, err := pidList(req[2])
	if err != nil {
		return senderRequest{}, true, err
	}
	r := senderRequest{partitioner: name, pids: pids, msg: req[3]}
	if len(req) == 5 {
		switch mode := req[4].(type) {
		case etf.Atom: // 1.6 / 1.7: binary | etf | nil
			r.pack = mode == atomBinary
		case nil:
		case etf.List: // newer: the caller's options
			r.opts = mode
			r.pack = optionValue(mode, atomPackMode) == atomBinary
		default:
			return senderRequest{}, true, fmt.Errorf("manifold: sender pack mode is a %T", req[4])
		}
	}
	return r, true, nil
}

// optionValue returns the first value of key in a keyword list, as Keyword.get does.
func optionValue(opts etf.List, key etf.Atom) any {
	for _, o := range opts {
		if kv, ok := o.(etf.Tuple); ok && len(kv) == 2 && kv[0] == key {
			return kv[1]
		}
	}
	return nil
}

// pack wraps msg as Manifold's pack_mode binary does: {manifold_binary, term_to_binary(Msg)}.
func pack(msg any) (etf.Tuple, error) {
	b, err := etf.Encode(msg)
	if err != nil {
		return nil, err
	}
	return etf.Tuple{atomManifoldBinary, b}, nil
}

// unpack undoes pack. As in Manifold, the shape decides, not an option: a message that is
// exactly {manifold_binary, Binary} is decoded. The binary arrived within the node's limits, so
// its size is no reason to refuse it (binary_to_term takes any size); the decoder's default
// limit still bounds what a compressed term in it may expand to.
func unpack(msg any) (any, error) {
	t, ok := msg.(etf.Tuple)
	if !ok || len(t) != 2 || t[0] != atomManifoldBinary {
		return msg, nil
	}
	b, ok := t[1].([]byte)
	if !ok {
		return msg, nil
	}
	d := etf.Decoder{MaxSize: max(len(b), etf.DefaultMaxSize)}
	return d.Decode(b)
}
