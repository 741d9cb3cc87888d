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
	fragSize := c.opts.FragmentSize
	if header && c.peer.has(flagFragments) && len(b)-ctrlEnd > fragSize {
		packets := c.fragment(b[start:ctrlEnd], b[ctrlEnd:], fragSize)
		putBuffer(b)
		return c.out.push(packets)
	}
	binary.BigEndian.PutUint32(b, uint32(len(b)-4))
	return c.out.push([][]byte{b})
}

// fragment splits a message: the first fragment carries the control message and the first
// piece of the payload, the rest carry fragSize bytes of payload each. Fragment ids count down
// to 1, the last.
func (c *Connection) fragment(ctrl, payload []byte, fragSize int) [][]byte {
	n := (len(payload) + fragSize - 1) / fragSize
	seq := c.seq.Add(1)
	packets := make([][]byte, 0, n)
	for i := 0; i < n; i++ {
		piece := payload[i*fragSize : min((i+1)*fragSize, len(payload))]
		p := make([]byte, 4, 4+2+16+1+len(ctrl)+len(piece))
		p = appendFragmentHeader(p, i == 0, seq, uint64(n-i))
		if i == 0 {
			p = append(p, ctrl...)
		}
		p = append(p, piece...)
		binary.BigEndian.PutUint32(p, uint32(len(p)-4))
		packets = append(packets, p)
	}
	return packets
}
