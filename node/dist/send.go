package dist

import (
	"encoding/binary"

	"github.com/gobeam/gobeam/etf"
)

// defaultFragmentSize is the payload bytes per fragment when a message is split; BEAM uses
// fragments of about 64 KiB as well.
const defaultFragmentSize = 64 << 10

// send encodes a control message (and the payload, if the operation has one) into packets and
// queues them as one unit.
func (c *Connection) send(ctrl Control, payload etf.Term) error {
	select {
	case <-c.closed:
		return errClosed
	default:
	}
	tuple, err := ctrl.Term()
	if err != nil {
		return err
	}
	var enc etf.Encoder
	header := c.peer.has(flagDistHdrAtomCache)

	b := getBuffer()
	b = append(b, 0, 0, 0, 0) // length, filled in below
	if header {
		b = appendHeader(b)
	} else {
		b = append(b, passThrough)
	}
	start := len(b)
	if header {
		b, err = enc.AppendTerm(b, tuple)
	} else {
		b, err = enc.Append(b, tuple)
	}
	if err != nil {
		putBuffer(b)
		return err
	}
	ctrlEnd := len(b)
	if ctrl.Op.HasPayload() {
		if header {
			b, err = enc.AppendTerm(b, payload)
		} else {
			b, err = enc.Append(b, payload)
		}
		if err != nil {
			putBuffer(b)
			return err
		}
	}

	c.messagesOut.Add(1)
	if header && c.peer.has(flagFragments) && len(b)-ctrlEnd > c.opts.FragmentSize {
		return c.out.push(c.fragment(b, start, ctrlEnd, c.opts.FragmentSize))
	}
	binary.BigEndian.PutUint32(b, uint32(len(b)-4))
	return c.out.push(outItem{segs: [][]byte{b}, owner: b})
}

// fragment splits the encoded message in b (control message at b[start:ctrlEnd], payload after
// it) into fragments without copying it: the first fragment carries the control message and the
// first piece of the payload, the others fragSize bytes of payload each, and fragment ids count
// down to 1, the last. Only the small headers are new memory.
func (c *Connection) fragment(b []byte, start, ctrlEnd, fragSize int) outItem {
	ctrl, payload := b[start:ctrlEnd], b[ctrlEnd:]
	n := (len(payload) + fragSize - 1) / fragSize
	seq := c.seq.Add(1)
	const headerRoom = 4 + 2 + 16 + 1 // length, 131 and tag, sequence and fragment ids, no atoms
	// Sized once, so the header slices taken below stay valid while it fills.
	headers := make([]byte, 0, n*headerRoom)
	segs := make([][]byte, 0, 2*n+1)
	for i := 0; i < n; i++ {
		piece := payload[i*fragSize : min((i+1)*fragSize, len(payload))]
		h := len(headers)
		headers = append(headers, 0, 0, 0, 0)
		headers = appendFragmentHeader(headers, i == 0, seq, uint64(n-i))
		size := len(headers) - h - 4 + len(piece)
		if i == 0 {
			size += len(ctrl)
		}
		binary.BigEndian.PutUint32(headers[h:], uint32(size))
		segs = append(segs, headers[h:len(headers):len(headers)])
		if i == 0 {
			segs = append(segs, ctrl)
		}
		segs = append(segs, piece)
	}
	return outItem{segs: segs, owner: b}
}
