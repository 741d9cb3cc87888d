package epmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"time"
)

// DefaultTimeout bounds one request to EPMD, connection included.
const DefaultTimeout = 5 * time.Second

// Errors of the client.
var (
	// ErrNotFound: EPMD has no node of that name.
	ErrNotFound = errors.New("epmd: node not registered")
	// ErrNameTaken: EPMD refused a registration, because the name is in use (or invalid).
	ErrNameTaken = errors.New("epmd: name refused (already registered?)")
)

// Client talks to EPMD daemons (erl_epmd's job). The zero value uses the port of
// ERL_EPMD_PORT (or 4369) and DefaultTimeout.
type Client struct {
	// Port is the EPMD port on every host (PortFromEnv when zero).
	Port uint16
	// Timeout bounds each request (DefaultTimeout when zero).
	Timeout time.Duration
}

func (c *Client) port() uint16 {
	if c.Port != 0 {
		return c.Port
	}
	return PortFromEnv()
}

func (c *Client) timeout() time.Duration {
	if c.Timeout > 0 {
		return c.Timeout
	}
	return DefaultTimeout
}

// dial connects to EPMD on host and sets the deadline of the request.
func (c *Client) dial(ctx context.Context, host string) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout())
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(host, strconv.Itoa(int(c.port()))))
	if err != nil {
		return nil, fmt.Errorf("epmd: %w", err)
	}
	conn.SetDeadline(time.Now().Add(c.timeout()))
	return conn, nil
}

// maxResponse bounds what a lookup or a names request reads: a PORT2_RESP is at most about
// 2 KiB; a NAMES response grows with the number of nodes, 1 MiB is tens of thousands of them.
const (
	maxPort2Response = 16 + maxNameBytes + maxExtraBytes
	maxNamesResponse = 1 << 20
)

// Lookup asks EPMD on host for the node with the alive name name (PORT_PLEASE2_REQ). It
// returns the node's registration and the address EPMD was reached at, which is where the
// node itself listens.
func (c *Client) Lookup(ctx context.Context, host, name string) (NodeInfo, netip.Addr, error) {
	conn, err := c.dial(ctx, host)
	if err != nil {
		return NodeInfo{}, netip.Addr{}, err
	}
	defer conn.Close()
	addr := remoteAddr(conn)
	if _, err := conn.Write(AppendPortPlease2Request(nil, name)); err != nil {
		return NodeInfo{}, addr, fmt.Errorf("epmd: %w", err)
	}
	b, err := readAll(conn, maxPort2Response)
	if err != nil {
		return NodeInfo{}, addr, fmt.Errorf("epmd: reading PORT2_RESP: %w", err)
	}
	r, err := DecodePort2Response(b)
	if err != nil {
		return NodeInfo{}, addr, err
	}
	if r.Result != 0 {
		return NodeInfo{}, addr, fmt.Errorf("%w: %s on %s", ErrNotFound, name, host)
	}
	return r.Node, addr, nil
}

// Names lists the nodes registered with EPMD on host (NAMES_REQ).
func (c *Client) Names(ctx context.Context, host string) ([]NameEntry, error) {
	conn, err := c.dial(ctx, host)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	if _, err := conn.Write(AppendNamesRequest(nil)); err != nil {
		return nil, fmt.Errorf("epmd: %w", err)
	}
	b, err := readAll(conn, maxNamesResponse)
	if err != nil {
		return nil, fmt.Errorf("epmd: reading NAMES response: %w", err)
	}
	_, entries, err := DecodeNamesResponse(b)
	return entries, err
}

// Registration is a node published in EPMD. EPMD keeps it while its connection stays open.
type Registration struct {
	// Creation is the creation EPMD handed out.
	Creation uint32
	// Server is the address of the EPMD holding the registration.
	Server string

	conn net.Conn
	done chan struct{}
	once sync.Once
}

// Register publishes node with EPMD on host (ALIVE2_REQ) and keeps the connection open: the
// registration lasts until Close, or until EPMD goes away, which closes Done.
func (c *Client) Register(ctx context.Context, host string, node NodeInfo) (*Registration, error) {
	conn, err := c.dial(ctx, host)
	if err != nil {
		return nil, err
	}
	r, err := register(conn, node)
	if err != nil {
		conn.Close()
		return nil, err
	}
	conn.SetDeadline(time.Time{})
	reg := &Registration{Creation: r.Creation, Server: conn.RemoteAddr().String(), conn: conn, done: make(chan struct{})}
	go reg.watch()
	return reg, nil
}

func register(conn net.Conn, node NodeInfo) (Alive2Response, error) {
	if _, err := conn.Write(AppendAlive2Request(nil, node)); err != nil {
		return Alive2Response{}, fmt.Errorf("epmd: %w", err)
	}
	var b [alive2XRespSize]byte
	if _, err := io.ReadFull(conn, b[:1]); err != nil {
		if errors.Is(err, io.EOF) {
			// epmd hangs up on a request it rejects outright (e.g. from a non-local address).
			return Alive2Response{}, fmt.Errorf("epmd: %s closed the connection on ALIVE2_REQ (%w)", conn.RemoteAddr(), err)
		}
		return Alive2Response{}, fmt.Errorf("epmd: reading ALIVE2 response: %w", err)
	}
	size := alive2ResponseSize(b[0])
	if size == 0 {
		return Alive2Response{}, malformed("tag %d is not an ALIVE2 response", b[0])
	}
	if _, err := io.ReadFull(conn, b[1:size]); err != nil {
		return Alive2Response{}, fmt.Errorf("epmd: reading ALIVE2 response: %w", err)
	}
	r, err := DecodeAlive2Response(b[:size])
	if err != nil {
		return r, err
	}
	if r.Result != 0 {
		return r, fmt.Errorf("%w: %q at %s (result %d)", ErrNameTaken, node.Name, conn.RemoteAddr(), r.Result)
	}
	return r, nil
}

// watch waits for EPMD to close the connection. EPMD never writes on it again; anything read is
// ignored.
func (r *Registration) watch() {
	awaitClose(r.conn)
	r.once.Do(func() { close(r.done) })
}

// awaitClose returns when the connection of a registration closes, reading and dropping
// whatever comes meanwhile. A small buffer of its own: io.Discard would hold one of 8 KB for
// the registration's whole life.
func awaitClose(conn net.Conn) {
	var b [64]byte
	for {
		if _, err := conn.Read(b[:]); err != nil {
			return
		}
	}
}

// Done is closed when the registration ends: Close was called or EPMD went away.
func (r *Registration) Done() <-chan struct{} { return r.done }

// Close unregisters the node.
func (r *Registration) Close() error {
	err := r.conn.Close()
	<-r.done
	return err
}

func remoteAddr(conn net.Conn) netip.Addr {
	if a, ok := conn.RemoteAddr().(*net.TCPAddr); ok {
		if ip, ok := netip.AddrFromSlice(a.IP); ok {
			return ip.Unmap()
		}
	}
	return netip.Addr{}
}

// readAll reads until EPMD closes the connection, refusing more than limit bytes.
func readAll(r io.Reader, limit int) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, int64(limit)+1))
	if err != nil {
		return nil, err
	}
	if len(b) > limit {
		return nil, malformed("response exceeds %d bytes", limit)
	}
	return b, nil
}
