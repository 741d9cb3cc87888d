package dist

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"ergo.services/ergo/gen"
)

// Connection is one distribution connection to a peer node. It implements gen.Connection.
//
// One goroutine (Serve) reads, decodes and routes everything the peer sends, in order. Senders
// encode in their own goroutine, then append the finished packet to one queue that a writer
// goroutine drains with vectored writes; so a process's messages to the peer keep their order
// and many senders are written with few system calls.
type Connection struct {
	core gen.Core
	log  gen.Log
	opts Options
	peer Peer

	remote *remoteNode

	// set by Join
	mu     sync.Mutex
	conn   net.Conn
	tail   []byte
	joined chan struct{}

	out outQueue
	seq atomic.Uint64 // fragment sequence ids
	// queueMu orders the queueing of messages that use the atom cache with atomsOut, the
	// model of the peer's cache that their headers update.
	queueMu   sync.Mutex
	atomsOut  atomCacheWriter
	calls     pendingCalls // Go callers waiting for a gen_server reply
	peerCalls peerCalls    // BEAM callers waiting for a Go process's reply
	sig       signalTables // links and monitors across this connection

	lastRead  atomic.Int64 // unix nanoseconds of the last packet or tick read
	lastWrite atomic.Int64 // unix nanoseconds of the last write

	messagesIn, messagesOut, bytesIn, bytesOut atomic.Uint64
	undelivered                                atomic.Uint64 // messages in that met a full mailbox
	undeliveredLog                             undeliveredLog

	closeOnce sync.Once
	serving   atomic.Bool
	closed    chan struct{}
	reason    error
}

// Peer is what the handshake established about the other node.
type Peer struct {
	Name     gen.Atom
	Creation uint32
	// Flags are the distribution flags the peer announced, LocalFlags ours.
	Flags, LocalFlags uint64
	Version           gen.Version
}

func (p Peer) has(flag uint64) bool { return p.Flags&flag != 0 }

// Distribution flags this package acts on.
const (
	flagDistHdrAtomCache = 0x2000
	flagSendSender       = 0x80000
	flagExitPayload      = 0x400000
	flagFragments        = 0x800000
	flagUnlinkID         = 0x2000000
	flagAlias            = 1 << 35
)

var (
	errAlreadyJoined = errors.New("dist: the node pair already has a connection (Erlang allows one)")
	errClosed        = errors.New("dist: connection closed")
	// ErrTickTimeout is the reason a connection ends when the peer was silent for net_ticktime.
	ErrTickTimeout = errors.New("dist: net_tick_timeout: the peer sent nothing for net_ticktime")
)

func newConnection(core gen.Core, peer Peer, opts Options, log gen.Log) *Connection {
	c := &Connection{
		core:   core,
		log:    log,
		opts:   opts,
		peer:   peer,
		joined: make(chan struct{}),
		closed: make(chan struct{}),
	}
	c.out.init(opts.MaxQueueBytes)
	c.remote = &remoteNode{c: c, started: time.Now()}
	now := time.Now().UnixNano()
	c.lastRead.Store(now)
	c.lastWrite.Store(now)
	return c
}

// Node returns the peer as an Ergo remote node.
func (c *Connection) Node() gen.RemoteNode { return c.remote }

// Join hands the connection its socket. Erlang allows exactly one connection per node pair,
// so a second socket is refused and Ergo closes it.
func (c *Connection) Join(conn net.Conn, id string, dial gen.NetworkDial, tail []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn != nil {
		return errAlreadyJoined
	}
	c.conn = conn
	c.tail = tail
	close(c.joined)
	return nil
}

// Terminate closes the connection; Ergo calls it after Serve returned.
func (c *Connection) Terminate(reason error) {
	c.shutdown(reason)
}

// Flush waits until every message queued on the connection so far has been written to the
// socket (or the connection ended), or ctx is done. A node that is about to stop flushes its
// connections first, so that what it accepted to send is not lost with the socket.
func (c *Connection) Flush(ctx context.Context) error {
	wait := 100 * time.Microsecond
	for !c.out.settled() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("dist: flushing the connection to %s: %w", c.peer.Name, ctx.Err())
		case <-time.After(wait):
		}
		wait = min(2*wait, 10*time.Millisecond)
	}
	return nil
}

// shutdown records the first reason the connection ended and closes the socket and the queue.
func (c *Connection) shutdown(reason error) {
	c.closeOnce.Do(func() {
		c.reason = reason
		close(c.closed)
		c.out.close()
		c.mu.Lock()
		if c.conn != nil {
			c.conn.Close()
		}
		c.mu.Unlock()
	})
}

// serve runs the connection until it ends and returns why.
func (c *Connection) serve() error {
	// Ergo serves a connection it registers; the one a duplicate dial hands back (handshake's
	// Existing) is registered again only after its first registration ended with it.
	if !c.serving.CompareAndSwap(false, true) {
		return errClosed
	}
	select {
	case <-c.joined:
	case <-c.closed:
		return c.reason
	}
	written := make(chan struct{})
	go func() { defer close(written); c.writeLoop() }()
	stopTicks := c.startTicks()
	err := c.readLoop()
	c.shutdown(err)
	stopTicks()
	<-written
	c.lost()
	c.reportUndelivered(true)
	return c.reason
}

// readLoop reads packets until the socket fails or the peer sends something that cannot be
// understood; either ends this connection only.
func (c *Connection) readLoop() error {
	r := newSocketReader(c.conn, c.tail)
	c.tail = nil
	rd := reader{c: c}
	r.lastRead = &c.lastRead
	r.onIdle = rd.frags.idle
	var lenbuf [4]byte
	var packet []byte // reused: decoding copies what it keeps
	for {
		if _, err := io.ReadFull(r, lenbuf[:]); err != nil {
			return c.readError(err)
		}
		c.lastRead.Store(time.Now().UnixNano())
		n := int(binary.BigEndian.Uint32(lenbuf[:]))
		if n == 0 {
			continue // a tick: its arrival is all it says
		}
		if max := c.opts.MaxMessageSize; max > 0 && n > max {
			err := fmt.Errorf("dist: %s sent a %d-byte packet, over the %d-byte limit", c.peer.Name, n, max)
			c.log.Error("%s", err)
			return err
		}
		c.bytesIn.Add(uint64(n) + 4)
		var err error
		if n >= continuationHeader {
			// A continuation fragment is read straight into its message's buffer.
			var head [continuationHeader]byte
			if _, err := io.ReadFull(r, head[:]); err != nil {
				return c.readError(err)
			}
			switch {
			case head[0] == versionMagic && head[1] == headerContinue:
				err = rd.continuation(head[:], r, n-continuationHeader)
			case head[0] == versionMagic && head[1] == headerFragment:
				// The first fragment is read into the buffer its message is assembled in.
				var buf []byte
				if buf, err = rd.frags.buffer(n, binary.BigEndian.Uint64(head[10:]), c.opts.MaxMessageSize); err == nil {
					if buf, err = appendRead(r, append(buf, head[:]...), n-continuationHeader); err != nil {
						return c.readError(err)
					}
					err = rd.firstFragment(buf)
				}
			default:
				if packet, err = appendRead(r, append(packet[:0], head[:]...), n-continuationHeader); err != nil {
					return c.readError(err)
				}
				err = rd.packet(packet)
			}
		} else {
			if packet, err = appendRead(r, packet[:0], n); err != nil {
				return c.readError(err)
			}
			err = rd.packet(packet)
		}
		if cap(packet) > maxPooledBuffer {
			packet = nil // one huge packet does not pin its memory for the connection's life
		}
		c.lastRead.Store(time.Now().UnixNano())
		if err != nil {
			if isReadError(err) {
				return c.readError(err)
			}
			c.log.Error("closing the connection with %s: %s", c.peer.Name, err)
			return err
		}
	}
}

// appendRead appends n bytes from src to b. A packet's length is only the peer's word, so b grows
// no further ahead of the bytes that have arrived than their own size (or claimChunk, if more):
// a length that announces gigabytes and is followed by nothing reserves little, while an honest
// large packet costs the copies of a doubling. Room that b already has is filled first.
func appendRead(src io.Reader, b []byte, n int) ([]byte, error) {
	for n > 0 {
		step := n
		if free := cap(b) - len(b); step > free {
			step = min(n, max(free, len(b), claimChunk))
		}
		at := len(b)
		b = slices.Grow(b, step)[:at+step]
		if _, err := io.ReadFull(src, b[at:]); err != nil {
			return b[:at], err
		}
		n -= step
	}
	return b, nil
}

// claimChunk is how far a packet's buffer may run ahead of its bytes: packets up to this size,
// every one BEAM sends with fragmentation on, are allocated whole when their length arrives.
const claimChunk = 1 << 20

func (c *Connection) readError(err error) error {
	select {
	case <-c.closed:
		return c.reason
	default:
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return gen.ErrNoConnection
	}
	return err
}

// startTicks keeps an idle connection alive and notices a dead one, as net_kernel does: a tick
// goes out whenever nothing was written for a quarter of net_ticktime, and a peer that sent
// nothing (not even a tick) for net_ticktime is declared down. It runs on a timer rather than
// a goroutine of its own, so an idle link holds two goroutines (reader and writer), not three.
// A check never waits for room in the queue: a peer that stopped reading and writing would
// otherwise keep senders blocked and the check with them, and never be declared down.
// The returned function stops it.
func (c *Connection) startTicks() (stop func()) {
	interval := c.opts.TickTime / 4
	var timer atomic.Pointer[time.Timer]
	check := func() {
		select {
		case <-c.closed:
			return
		default:
		}
		now := time.Now().UnixNano()
		if now-c.lastRead.Load() > int64(c.opts.TickTime) {
			c.log.Warning("%s sent nothing for %s (net_ticktime): connection down", c.peer.Name, c.opts.TickTime)
			c.shutdown(ErrTickTimeout)
			return
		}
		if now-c.lastWrite.Load() >= int64(interval) {
			c.out.pushTick()
		}
		c.reportUndelivered(false)
		timer.Load().Reset(interval)
	}
	// Created unarmed, and armed once stored, so the first check finds the timer to re-arm.
	t := time.AfterFunc(time.Duration(math.MaxInt64), check)
	timer.Store(t)
	t.Reset(interval)
	return func() { t.Stop() }
}

func (c *Connection) writeLoop() {
	var batch []outItem
	var iov net.Buffers
	w := newSegmentWriter(c.conn)
	for {
		var ok bool
		batch, ok = c.out.take(batch[:0])
		if !ok {
			return
		}
		iov = iov[:0]
		for _, item := range batch {
			iov = append(iov, item.segs...)
		}
		// Writing consumes iov; keep the backing array for the next batch.
		backing := iov
		n, err := w.write(&iov)
		iov = backing[:0]
		clear(backing[:cap(backing)])
		c.bytesOut.Add(uint64(n))
		c.lastWrite.Store(time.Now().UnixNano())
		for i := range batch {
			putBuffer(batch[i].owner)
			batch[i] = outItem{}
		}
		c.out.written()
		if err != nil {
			c.shutdown(fmt.Errorf("dist: writing to %s: %w", c.peer.Name, err))
			return
		}
	}
}

// segmentWriter writes a batch of segments to the socket. A TCP socket takes the whole batch
// in one writev. Any other connection, TLS above all, would get one Write per segment from
// net.Buffers, and a TLS Write is a record and a system call of its own: a small message is
// three or four segments. There the segments are gathered into records of TLS's largest size
// first; a large segment tops up the record being gathered and the rest of it goes out from
// its own memory.
type segmentWriter struct {
	conn   net.Conn
	gather *bufio.Writer // nil where writev is used
}

func newSegmentWriter(conn net.Conn) segmentWriter {
	switch conn.(type) {
	case *net.TCPConn, *net.UnixConn:
		return segmentWriter{conn: conn}
	}
	return segmentWriter{conn: conn, gather: bufio.NewWriterSize(conn, maxTLSRecord)}
}

// maxTLSRecord is the largest plaintext a TLS record carries.
const maxTLSRecord = 16 << 10

func (w segmentWriter) write(iov *net.Buffers) (int64, error) {
	if w.gather == nil {
		return iov.WriteTo(w.conn)
	}
	var n int64
	for _, seg := range *iov {
		m, err := w.gather.Write(seg)
		n += int64(m)
		if err != nil {
			return n, err
		}
	}
	*iov = nil
	return n, w.gather.Flush()
}

// outItem is one message on its way out: the byte segments to write in order (one packet, or
// the headers and pieces of a fragmented message, pointing into owner without copies) and the
// pooled buffer they live in, which goes back to the pool once written.
type outItem struct {
	segs  [][]byte
	owner []byte
}

// tickPacket is a zero-length packet. It is only ever read.
var tickPacket = []byte{0, 0, 0, 0}

// outQueue is the ordered queue of messages waiting to be written. A full queue blocks senders,
// as a busy distribution port suspends Erlang senders, instead of growing without bound.
type outQueue struct {
	mu       sync.Mutex
	nonEmpty sync.Cond
	hasRoom  sync.Cond
	items    []outItem
	bytes    int
	limit    int
	closed   bool
	// writing is set while the writer holds a batch taken from items and not yet written.
	writing bool
}

func (q *outQueue) init(limit int) {
	q.nonEmpty.L = &q.mu
	q.hasRoom.L = &q.mu
	q.limit = limit
}

// push appends one message, waiting while the queue is full; all its segments are written
// together, nothing from another sender lands between them.
func (q *outQueue) push(item outItem) error { return q.add(item, true) }

// pushNow is push without the wait: the message goes in over the limit if need be.
func (q *outQueue) pushNow(item outItem) error { return q.add(item, false) }

func (q *outQueue) add(item outItem, waitForRoom bool) error {
	size := 0
	for _, s := range item.segs {
		size += len(s)
	}
	q.mu.Lock()
	for waitForRoom && !q.closed && q.limit > 0 && q.bytes > 0 && q.bytes+size > q.limit {
		q.hasRoom.Wait()
	}
	if q.closed {
		q.mu.Unlock()
		return errClosed
	}
	q.items = append(q.items, item)
	q.bytes += size
	q.mu.Unlock()
	q.nonEmpty.Signal()
	return nil
}

// pushTick queues a tick, without waiting for room, if nothing is queued or being written:
// whatever else goes out tells the peer as much as a tick, as net_kernel ticks only when
// nothing is pending.
func (q *outQueue) pushTick() {
	q.mu.Lock()
	if q.closed || len(q.items) > 0 || q.writing {
		q.mu.Unlock()
		return
	}
	q.items = append(q.items, outItem{segs: [][]byte{tickPacket}})
	q.bytes += len(tickPacket)
	q.mu.Unlock()
	q.nonEmpty.Signal()
}

// take moves everything queued into batch, waiting while the queue is empty.
func (q *outQueue) take(batch []outItem) ([]outItem, bool) {
	q.mu.Lock()
	for len(q.items) == 0 && !q.closed {
		q.nonEmpty.Wait()
	}
	if len(q.items) == 0 {
		q.mu.Unlock()
		return batch, false
	}
	batch = append(batch, q.items...)
	clear(q.items)
	q.items = q.items[:0]
	q.bytes = 0
	q.writing = true
	q.mu.Unlock()
	q.hasRoom.Broadcast()
	return batch, true
}

// written tells the queue the batch last taken is on the socket.
func (q *outQueue) written() {
	q.mu.Lock()
	q.writing = false
	q.mu.Unlock()
}

// settled reports whether everything pushed so far has been written, or the queue is closed.
func (q *outQueue) settled() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.closed || (len(q.items) == 0 && !q.writing)
}

func (q *outQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.nonEmpty.Broadcast()
	q.hasRoom.Broadcast()
}

var bufferPool = sync.Pool{New: func() any { b := make([]byte, 0, fitSlack); return &b }}

func getBuffer() []byte { return (*bufferPool.Get().(*[]byte))[:0] }

// maxPooledBuffer is the largest buffer kept for reuse; larger ones go to the garbage
// collector rather than pin memory in the pool.
const maxPooledBuffer = 1 << 20

func putBuffer(b []byte) {
	if cap(b) > maxPooledBuffer || cap(b) == 0 {
		return
	}
	bufferPool.Put(&b)
}

// fit returns b, with room for need more bytes, in a buffer near its size. The pool mixes the
// buffers of small and large messages, and a message holds its buffer while it waits in the
// queue, whose limit counts the message's bytes, not its buffer's: a small message in a large
// buffer gets a copy, and the large buffer goes to the collector.
func fit(b []byte, need int) []byte {
	if cap(b) <= 2*(len(b)+need)+fitSlack {
		return b
	}
	return append(make([]byte, 0, len(b)+need), b...)
}

// fitSlack is how much more than twice its message a queued message's buffer may hold: the
// pool's fresh buffers are this size.
const fitSlack = 512
