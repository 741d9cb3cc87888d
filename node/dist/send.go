package dist

import (
	"encoding/binary"

	"github.com/gobeam/gobeam/etf"
)

// defaultFragmentSize is the payload bytes per fragment when a message is split; BEAM uses
// fragments of about 64 KiB as well.
const defaultFragmentSize = 64 << 10

// send encodes a control message (and the payload, if the operation has one) into packets and
// queues them as one unit. A full queue makes the caller wait for room, as a busy distribution
// port suspends an Erlang sender.
func (c *Connection) send(ctrl Control, payload etf.Term) error {
	tuple, err := c.controlTerm(ctrl)
	if err != nil {
		return err
	}
	if !c.peer.has(flagDistHdrAtomCache) {
		return c.sendPassThrough(ctrl, tuple, payload, c.out.push)
	}
	// The control message and the payload are encoded in the sender's goroutine, their atoms
	// as references; the header with the atom cache references is made when the message is
	// queued, and written ahead of it from the same buffer.
	ool := getOutOfLine()
	defer putOutOfLine(ool)
	enc := etf.Encoder{AtomCache: ool}
	b := getBuffer()
	if b, err = enc.AppendTerm(b, tuple); err != nil {
		putBuffer(b)
		return err
	}
	ctrlEnd := len(b)
	if ctrl.Op.HasPayload() {
		// Large binaries of the payload are not copied: they are written from where they
		// are, as pieces of their own between the encoded bytes.
		enc.Inserter, enc.InsertMin = ool, insertMin
		if b, err = enc.AppendTerm(b, payload); err != nil {
			putBuffer(b)
			return err
		}
	}
	b = fit(b, 6+refsSize(ool.list)) // and room for the header
	body := len(b)
	payloadLen := body - ctrlEnd + ool.inserted
	c.messagesOut.Add(1)

	c.queueMu.Lock()
	defer c.queueMu.Unlock()
	if c.peer.has(flagFragments) && payloadLen > c.opts.FragmentSize {
		pieces := ool.pieces(nil, b[ctrlEnd:body], ctrlEnd)
		return c.out.push(c.fragment(b, b[:ctrlEnd], pieces, payloadLen, c.opts.FragmentSize, ool.list))
	}
	b = append(b, 0, 0, 0, 0, versionMagic, headerNormal)
	b = c.atomsOut.appendRefs(b, ool.list)
	head := b[body:]
	binary.BigEndian.PutUint32(head, uint32(len(head)-4+ctrlEnd+payloadLen))
	if len(ool.inserts) == 0 {
		return c.out.push(outItem{segs: [][]byte{head, b[:body]}, owner: b})
	}
	segs := make([][]byte, 0, 3+2*len(ool.inserts))
	segs = append(segs, head, b[:ctrlEnd])
	segs = ool.pieces(segs, b[ctrlEnd:body], ctrlEnd)
	return c.out.push(outItem{segs: segs, owner: b})
}

// sendNow is send for the signals the node originates itself: they go into the queue even when
// it is full, as BEAM never suspends its own signals on a busy port. They come from the reader
// (the answers to the peer's signals: UNLINK_ID_ACK, spawn replies, EXIT and DOWN noproc) or
// from Ergo while it holds its link and monitor tables (EXIT and DOWN of a process that
// ended, the links and monitors it makes and removes on the peer); waiting for room there
// would stop reading the peer, or stop every link and monitor of the node, until the peer
// reads again. Each is small, and the reader makes at most one per signal the peer sent.
//
// A sender waiting for room holds queueMu, so these do without it: their atoms are written
// out instead of as atom cache references, which makes them independent of the model of the
// peer's cache and free to take any place in the queue. They go whole, unfragmented, which a
// peer accepts at any size.
func (c *Connection) sendNow(ctrl Control, payload etf.Term) error {
	tuple, err := c.controlTerm(ctrl)
	if err != nil {
		return err
	}
	if !c.peer.has(flagDistHdrAtomCache) {
		return c.sendPassThrough(ctrl, tuple, payload, c.out.pushNow)
	}
	var enc etf.Encoder
	b := appendHeader(append(getBuffer(), 0, 0, 0, 0)) // length, filled in below
	if b, err = enc.AppendTerm(b, tuple); err == nil && ctrl.Op.HasPayload() {
		b, err = enc.AppendTerm(b, payload)
	}
	return c.pushWhole(b, err, c.out.pushNow)
}

// pushWhole queues b, one message after room for its 4-byte length, with push (the queue's
// push or pushNow); when encoding it failed (err), it gives b back and returns err.
func (c *Connection) pushWhole(b []byte, err error, push func(outItem) error) error {
	if err != nil {
		putBuffer(b)
		return err
	}
	b = fit(b, 0)
	c.messagesOut.Add(1)
	binary.BigEndian.PutUint32(b, uint32(len(b)-4))
	return push(outItem{segs: [][]byte{b}, owner: b})
}

// controlTerm is ctrl as the tuple to write, or errClosed once the connection is closing.
func (c *Connection) controlTerm(ctrl Control) (etf.Tuple, error) {
	select {
	case <-c.closed:
		return nil, errClosed
	default:
	}
	return ctrl.Term()
}

// insertMin is the size from which a binary of a message is written from its own memory
// rather than copied into the encoded message. Sending a []byte to another node hands it over,
// as a local send does: it must not change until written.
const insertMin = 8 << 10

// sendPassThrough queues a message for a peer without distribution headers: 'p', then the
// control message and payload as versioned terms; push is the queue's push or pushNow.
func (c *Connection) sendPassThrough(ctrl Control, tuple etf.Tuple, payload etf.Term, push func(outItem) error) error {
	var enc etf.Encoder
	b := getBuffer()
	b = append(b, 0, 0, 0, 0, passThrough) // length, filled in below
	b, err := enc.Append(b, tuple)
	if err == nil && ctrl.Op.HasPayload() {
		b, err = enc.Append(b, payload)
	}
	return c.pushWhole(b, err, push)
}

// fragment splits a message into fragments without copying it: the first fragment carries
// the atom cache references, the control message ctrl and the first fragSize bytes of the
// payload (the pieces of payload, payloadLen bytes in all), the others fragSize bytes of
// payload each, and fragment ids count down to 1, the last. Only the headers are new memory.
// It runs under queueMu, as it updates the model of the peer's atom cache. owner is the
// buffer the encoded bytes live in.
func (c *Connection) fragment(owner, ctrl []byte, payload [][]byte, payloadLen, fragSize int, atoms []etf.Atom) outItem {
	n := (payloadLen + fragSize - 1) / fragSize
	seq := c.seq.Add(1)
	const headerRoom = 4 + 2 + 16 // length, 131 and tag, sequence and fragment ids
	// Sized once, so the header slices taken below stay valid while it fills.
	headers := make([]byte, 0, n*headerRoom+refsSize(atoms))
	segs := make([][]byte, 0, 2*n+len(payload)+1)
	for i := 0; i < n; i++ {
		size := min(fragSize, payloadLen-i*fragSize)
		h := len(headers)
		headers = append(headers, 0, 0, 0, 0)
		headers = appendFragmentHeader(headers, i == 0, seq, uint64(n-i))
		if i == 0 {
			headers = c.atomsOut.appendRefs(headers, atoms)
		}
		packet := len(headers) - h - 4 + size
		if i == 0 {
			packet += len(ctrl)
		}
		binary.BigEndian.PutUint32(headers[h:], uint32(packet))
		segs = append(segs, headers[h:len(headers):len(headers)])
		if i == 0 {
			segs = append(segs, ctrl)
		}
		// This fragment's size bytes of the payload, from as many pieces as they span.
		for size > 0 {
			take := min(size, len(payload[0]))
			segs = append(segs, payload[0][:take])
			if payload[0] = payload[0][take:]; len(payload[0]) == 0 {
				payload = payload[1:]
			}
			size -= take
		}
	}
	return outItem{segs: segs, owner: owner}
}
