package epmd

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type testLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *testLog) add(level, format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, level+": "+sprintf(format, args...))
}
func (l *testLog) Info(format string, args ...any)    { l.add("info", format, args...) }
func (l *testLog) Warning(format string, args ...any) { l.add("warning", format, args...) }
func (l *testLog) Error(format string, args ...any)   { l.add("error", format, args...) }
func (l *testLog) text() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

func startServer(t *testing.T) (*Server, *Client) {
	t.Helper()
	s, err := Listen(ServerOptions{Addr: "127.0.0.1:0", RequestTimeout: 200 * time.Millisecond})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s, &Client{Port: uint16(s.Addr().(*net.TCPAddr).Port), Timeout: 2 * time.Second}
}

func TestServerRegisterLookupNames(t *testing.T) {
	s, c := startServer(t)
	ctx := context.Background()

	reg, err := c.Register(ctx, "127.0.0.1", sampleNode)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, reg.Creation, uint32(time.Now().Unix()))

	other := NodeInfo{Name: "old", Port: 9000, Type: NodeTypeHidden, HighestVersion: 5, LowestVersion: 5, Extra: []byte("e")}
	reg2, err := c.Register(ctx, "127.0.0.1", other)
	require.NoError(t, err)
	assert.Contains(t, []uint32{1, 2, 3}, reg2.Creation, "16-bit creations for version 5 nodes")

	info, addr, err := c.Lookup(ctx, "127.0.0.1", "go")
	require.NoError(t, err)
	assert.Equal(t, sampleNode, info)
	assert.Equal(t, "127.0.0.1", addr.String())
	info, _, err = c.Lookup(ctx, "localhost", "old")
	require.NoError(t, err)
	assert.Equal(t, other, info)

	_, _, err = c.Lookup(ctx, "127.0.0.1", "nobody")
	assert.ErrorIs(t, err, ErrNotFound)

	names, err := c.Names(ctx, "127.0.0.1")
	require.NoError(t, err)
	assert.Equal(t, []NameEntry{{Name: "old", Port: 9000}, {Name: "go", Port: 11144}}, names)
	assert.Equal(t, []NodeInfo{other, sampleNode}, s.Nodes())

	// A name is registered once.
	_, err = c.Register(ctx, "127.0.0.1", sampleNode)
	assert.ErrorIs(t, err, ErrNameTaken)

	// Closing the registration's connection unregisters the node.
	require.NoError(t, reg.Close())
	require.Eventually(t, func() bool {
		_, _, err := c.Lookup(ctx, "127.0.0.1", "go")
		return err != nil
	}, 2*time.Second, 10*time.Millisecond)
	reg2.Close()
}

func TestServerCreationSequence(t *testing.T) {
	_, c := startServer(t)
	ctx := context.Background()
	first, err := c.Register(ctx, "127.0.0.1", sampleNode)
	require.NoError(t, err)
	first.Close()
	var second *Registration
	require.Eventually(t, func() bool {
		second, err = c.Register(ctx, "127.0.0.1", sampleNode)
		return err == nil
	}, 2*time.Second, 10*time.Millisecond)
	defer second.Close()
	assert.Equal(t, first.Creation+1, second.Creation, "a returning name gets the next creation")
}

func TestServerEndsRegistrationsOnClose(t *testing.T) {
	s, c := startServer(t)
	reg, err := c.Register(context.Background(), "127.0.0.1", sampleNode)
	require.NoError(t, err)
	require.NoError(t, s.Close())
	select {
	case <-reg.Done():
	case <-time.After(2 * time.Second):
		t.Fatal("registration still alive after the server closed")
	}
}

func rawRequest(t *testing.T, s *Server, payload []byte) []byte {
	t.Helper()
	conn, err := net.Dial("tcp", s.Addr().String())
	require.NoError(t, err)
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(2 * time.Second))
	_, err = conn.Write(payload)
	require.NoError(t, err)
	b, _ := io.ReadAll(conn)
	return b
}

func framed(body string) []byte {
	return append(binary.BigEndian.AppendUint16(nil, uint16(len(body))), body...)
}

func TestServerKillStopDump(t *testing.T) {
	s, c := startServer(t)
	reg, err := c.Register(context.Background(), "127.0.0.1", sampleNode)
	require.NoError(t, err)
	defer reg.Close()

	assert.Equal(t, "NO", string(rawRequest(t, s, framed("k"))))
	assert.Empty(t, rawRequest(t, s, framed("sgo")))
	_, _, err = c.Lookup(context.Background(), "127.0.0.1", "go")
	assert.NoError(t, err, "STOP must not unregister")

	dump := rawRequest(t, s, framed("d"))
	require.Greater(t, len(dump), 4)
	assert.Equal(t, uint32(s.Addr().(*net.TCPAddr).Port), binary.BigEndian.Uint32(dump))
	assert.Regexp(t, `^active name     <go> at port 11144, fd = \d+\n\x00$`, string(dump[4:]))
}

func TestServerGarbageAndSlowClients(t *testing.T) {
	s, c := startServer(t)
	for _, junk := range [][]byte{
		[]byte("GET / HTTP/1.1\r\n\r\n"),
		{0, 0},
		{0xff, 0xff, 1},
		framed("\x01"),
		framed("x\x00"),
		framed("z"),
	} {
		assert.Empty(t, rawRequest(t, s, junk), "%q", junk)
	}

	// A client that connects and says nothing is dropped after the request timeout, and a
	// half-sent frame too.
	silent, err := net.Dial("tcp", s.Addr().String())
	require.NoError(t, err)
	defer silent.Close()
	half, err := net.Dial("tcp", s.Addr().String())
	require.NoError(t, err)
	defer half.Close()
	half.Write([]byte{0, 10, 'x'})
	for _, conn := range []net.Conn{silent, half} {
		conn.SetReadDeadline(time.Now().Add(3 * time.Second))
		_, err = conn.Read(make([]byte, 1))
		assert.ErrorIs(t, err, io.EOF)
	}

	// The server still serves.
	reg, err := c.Register(context.Background(), "127.0.0.1", sampleNode)
	require.NoError(t, err)
	reg.Close()
}

// A registration epmd cannot take is answered with result 1, as epmd answers it (seen from
// OTP 25's epmd: 76 01 00000063 for a version 6 node, 79 01 0063 for a version 5 one).
func TestServerRefusesABadRegistrationAsEpmdDoes(t *testing.T) {
	s, _ := startServer(t)
	alive2 := func(name string, highest uint16) []byte {
		b := []byte{'x', 0x27, 0x0f, NodeTypeNormal, ProtocolTCP}
		b = binary.BigEndian.AppendUint16(b, highest)
		b = binary.BigEndian.AppendUint16(b, 5)
		b = binary.BigEndian.AppendUint16(b, uint16(len(name)))
		b = append(b, name...)
		return framed(string(binary.BigEndian.AppendUint16(b, 0)))
	}
	long := strings.Repeat("a", 256)
	assert.Equal(t, []byte{'v', 1, 0, 0, 0, 99}, rawRequest(t, s, alive2(long, 6)))
	assert.Equal(t, []byte{'y', 1, 0, 99}, rawRequest(t, s, alive2(long, 5)))
	assert.Empty(t, rawRequest(t, s, framed("x\x00")), "too short to say which answer it reads")
}

func TestServerConnectionLimit(t *testing.T) {
	s, err := Listen(ServerOptions{Addr: "127.0.0.1:0", MaxConnections: 2, RequestTimeout: time.Second})
	require.NoError(t, err)
	defer s.Close()
	c := &Client{Port: uint16(s.Addr().(*net.TCPAddr).Port), Timeout: time.Second}
	r1, err := c.Register(context.Background(), "127.0.0.1", NodeInfo{Name: "a", HighestVersion: 6, LowestVersion: 6})
	require.NoError(t, err)
	defer r1.Close()
	r2, err := c.Register(context.Background(), "127.0.0.1", NodeInfo{Name: "b", HighestVersion: 6, LowestVersion: 6})
	require.NoError(t, err)
	defer r2.Close()
	_, err = c.Names(context.Background(), "127.0.0.1")
	assert.Error(t, err)
}

// failingListener fails its first Accepts as a process out of file descriptors does.
type failingListener struct {
	net.Listener
	failures int
}

func (l *failingListener) Accept() (net.Conn, error) {
	if l.failures > 0 {
		l.failures--
		return nil, &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", syscall.EMFILE)}
	}
	return l.Listener.Accept()
}

// An error from accept (here "too many open files") does not stop the server: the host's
// nodes depend on it.
func TestServerOutlivesAcceptErrors(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	log := &testLog{}
	s := serve(&failingListener{Listener: l, failures: 3}, ServerOptions{Log: log, RequestTimeout: time.Second, MaxConnections: 8})
	defer s.Close()
	c := &Client{Port: uint16(l.Addr().(*net.TCPAddr).Port), Timeout: 5 * time.Second}
	names, err := c.Names(context.Background(), "127.0.0.1")
	require.NoError(t, err)
	assert.Empty(t, names)
	assert.Contains(t, log.text(), "too many open files; retrying")
	assert.Contains(t, log.text(), "accepting connections again")
	require.NoError(t, s.Close())
}

func TestListenAddressInUse(t *testing.T) {
	s, _ := startServer(t)
	_, err := Listen(ServerOptions{Addr: s.Addr().String()})
	assert.ErrorContains(t, err, "address already in use")
}

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }
