package epmd

import (
	"context"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"ergo.services/ergo/gen"
	"github.com/gobeam/gobeam/node/handshake"
	"github.com/gobeam/gobeam/node/nodetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type fakeNode struct {
	gen.NodeRegistrar
	name gen.Atom
	log  *fakeGenLog
}

func (n *fakeNode) Name() gen.Atom  { return n.name }
func (n *fakeNode) Creation() int64 { return 1 }
func (n *fakeNode) Log() gen.Log    { return n.log }

type fakeGenLog struct {
	gen.Log
	testLog
}

func (l *fakeGenLog) Info(format string, args ...any)    { l.testLog.Info(format, args...) }
func (l *fakeGenLog) Warning(format string, args ...any) { l.testLog.Warning(format, args...) }
func (l *fakeGenLog) Error(format string, args ...any)   { l.testLog.Error(format, args...) }

func newNode(name gen.Atom) *fakeNode { return &fakeNode{name: name, log: &fakeGenLog{}} }

var (
	protoV = gen.Version{Name: "erlang-dist", Release: "6"}
	hsV    = handshake.Version
)

func routes(port uint16) gen.RegisterRoutes {
	return gen.RegisterRoutes{Routes: []gen.Route{{Port: port, HandshakeVersion: hsV, ProtoVersion: protoV}}}
}

func testRegistrar(port uint16, opts Options) *Registrar {
	opts.Port = port
	opts.ServerAddr = "127.0.0.1:" + strconv.Itoa(int(port))
	opts.Timeout = time.Second
	return New(opts)
}

// TestTLSRoutesDialTheNodesHostName: over TLS the peer's certificate is checked against the
// host that is dialled, so a TLS route names the node's host, not the address EPMD answered on.
func TestTLSRoutesDialTheNodesHostName(t *testing.T) {
	port := nodetest.Port(t)
	r := testRegistrar(port, Options{TLS: true})
	_, err := r.Register(newNode("go@localhost"), routes(15002))
	require.NoError(t, err)
	defer r.Terminate()

	got, err := r.Resolve("go@localhost")
	require.NoError(t, err)
	want := []gen.Route{{Host: "localhost", Port: 15002, TLS: true, HandshakeVersion: hsV, ProtoVersion: protoV}}
	assert.Equal(t, want, got)

	plain := testRegistrar(port, Options{DisableServer: true, HandshakeVersion: hsV, ProtoVersion: protoV})
	got, err = plain.Resolve("go@localhost")
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.False(t, got[0].TLS)
	assert.NotEqual(t, "localhost", got[0].Host, "without TLS the route keeps the address EPMD answered on")
}

// TestFixedPortNeedsNoEPMD: in a cluster without EPMD every node listens on one port, so
// nothing is registered or asked, and any node resolves to its host and that port.
func TestFixedPortNeedsNoEPMD(t *testing.T) {
	port := nodetest.Port(t) // nothing listens there, and no server may start
	r := testRegistrar(port, Options{FixedPort: 9100})
	_, err := r.Register(newNode("go@127.0.0.1"), routes(9100))
	require.NoError(t, err)
	defer r.Terminate()
	assert.Nil(t, r.Server(), "no EPMD is started")
	_, err = (&Client{Port: port, Timeout: time.Second}).Names(context.Background(), "127.0.0.1")
	assert.Error(t, err, "nothing listens on the EPMD port")

	got, err := r.Resolve("erl@10.1.2.3")
	require.NoError(t, err)
	assert.Equal(t, []gen.Route{{Host: "10.1.2.3", Port: 9100, HandshakeVersion: hsV, ProtoVersion: protoV}}, got)
	_, err = r.Nodes()
	assert.ErrorIs(t, err, gen.ErrUnsupported)

	other := testRegistrar(port, Options{FixedPort: 9100})
	_, err = other.Register(newNode("go2@127.0.0.1"), routes(9101))
	assert.ErrorContains(t, err, "listens on 9100")
}

func TestRegistrarStartsEmbeddedServer(t *testing.T) {
	port := nodetest.Port(t)
	var resolved []gen.Route
	r := testRegistrar(port, Options{OnResolve: func(n gen.Atom, rs []gen.Route) { resolved = rs }})
	node := newNode("go@127.0.0.1")
	_, err := r.Register(node, routes(15001))
	require.NoError(t, err)
	defer r.Terminate()

	require.NotNil(t, r.Server(), "nothing listened, so the registrar serves EPMD itself")
	assert.True(t, r.Info().EmbeddedServer)
	assert.Equal(t, "127.0.0.1:"+strconv.Itoa(int(port)), r.Info().Server)
	assert.Equal(t, "erlang-epmd:2", r.Version().Str())
	assert.Greater(t, r.Creation(), uint32(3))
	assert.Contains(t, node.log.text(), "started an embedded one")

	got, err := r.Resolver().Resolve("go@127.0.0.1")
	require.NoError(t, err)
	want := []gen.Route{{Host: "127.0.0.1", Port: 15001, HandshakeVersion: hsV, ProtoVersion: protoV}}
	assert.Equal(t, want, got)
	assert.Equal(t, want, resolved)

	nodes, err := r.Nodes()
	require.NoError(t, err)
	assert.Equal(t, []gen.Atom{"go@127.0.0.1"}, nodes)

	_, err = r.Resolve("missing@127.0.0.1")
	assert.ErrorIs(t, err, ErrNotFound)
	_, err = r.Resolve("nohost")
	assert.Error(t, err)

	r.Terminate()
	assert.NotContains(t, node.log.text(), "lost the registration", "Terminate is not a lost registration")
	_, err = (&Client{Port: port, Timeout: time.Second}).Names(context.Background(), "127.0.0.1")
	assert.Error(t, err, "the embedded server stopped with its node")
}

func TestRegistrarUsesRunningEPMD(t *testing.T) {
	s, c := startServer(t)
	r := testRegistrar(c.Port, Options{})
	_, err := r.Register(newNode("hid@127.0.0.1"), routes(15002))
	require.NoError(t, err)
	defer r.Terminate()
	assert.Nil(t, r.Server())
	assert.Equal(t, []NodeInfo{{Name: "hid", Port: 15002, Type: NodeTypeNormal, HighestVersion: 6, LowestVersion: 6}}, s.Nodes())

	// A second node under the same name is refused.
	r2 := testRegistrar(c.Port, Options{})
	_, err = r2.Register(newNode("hid@127.0.0.1"), routes(15003))
	assert.ErrorIs(t, err, ErrNameTaken)

	r.Terminate()
	require.Eventually(t, func() bool { return len(s.Nodes()) == 0 }, 2*time.Second, 10*time.Millisecond)
}

func TestRegistrarReregistersWhenEPMDRestarts(t *testing.T) {
	port := nodetest.Port(t)
	addr := "127.0.0.1:" + strconv.Itoa(int(port))
	s, err := Listen(ServerOptions{Addr: addr})
	require.NoError(t, err)

	r := testRegistrar(port, Options{DisableServer: true})
	node := newNode("phoenix@127.0.0.1")
	_, err = r.Register(node, routes(15004))
	require.NoError(t, err)
	defer r.Terminate()
	first := r.Creation()

	s.Close()
	time.Sleep(200 * time.Millisecond) // some retries fail while nothing listens
	s, err = Listen(ServerOptions{Addr: addr})
	require.NoError(t, err)
	defer s.Close()
	require.Eventually(t, func() bool { return len(s.Nodes()) == 1 }, 10*time.Second, 20*time.Millisecond)
	assert.Equal(t, "phoenix", s.Nodes()[0].Name)
	// A fresh EPMD seeds creations from the clock, as epmd does.
	assert.GreaterOrEqual(t, r.Creation(), first)
	assert.Contains(t, node.log.text(), "lost the registration of phoenix")
	// The server lists the node as soon as it took the registration; the registrar logs it
	// once it has read the reply.
	require.Eventually(t, func() bool { return strings.Contains(node.log.text(), "phoenix registered again") },
		5*time.Second, 10*time.Millisecond, node.log.text())
}

// An epmd restarted a moment after it died gets its port back: the node, which could serve
// EPMD itself, waits for it rather than taking the port.
func TestRegistrarLeavesTheRestartingEPMDItsPort(t *testing.T) {
	port := nodetest.Port(t)
	addr := "127.0.0.1:" + strconv.Itoa(int(port))
	s, err := Listen(ServerOptions{Addr: addr})
	require.NoError(t, err)
	r := testRegistrar(port, Options{})
	_, err = r.Register(newNode("patient@127.0.0.1"), routes(15009))
	require.NoError(t, err)
	defer r.Terminate()
	require.Nil(t, r.Server())

	s.Close()
	time.Sleep(500 * time.Millisecond) // some retries fail while nothing listens
	s, err = Listen(ServerOptions{Addr: addr})
	require.NoError(t, err, "the node took the port of the epmd being restarted")
	defer s.Close()
	require.Eventually(t, func() bool { return len(s.Nodes()) == 1 }, 10*time.Second, 20*time.Millisecond)
	assert.Nil(t, r.Server())
}

// The node owning the embedded server stops: another Go node takes over serving EPMD and
// registers again; the rest register with it.
func TestRegistrarTakesOverEmbeddedServer(t *testing.T) {
	port := nodetest.Port(t)
	owner := testRegistrar(port, Options{})
	_, err := owner.Register(newNode("owner@127.0.0.1"), routes(15005))
	require.NoError(t, err)
	require.NotNil(t, owner.Server())

	a := testRegistrar(port, Options{})
	_, err = a.Register(newNode("a@127.0.0.1"), routes(15006))
	require.NoError(t, err)
	defer a.Terminate()
	b := testRegistrar(port, Options{})
	_, err = b.Register(newNode("b@127.0.0.1"), routes(15007))
	require.NoError(t, err)
	defer b.Terminate()
	assert.Nil(t, a.Server())
	assert.Nil(t, b.Server())

	owner.Terminate()
	c := &Client{Port: port, Timeout: time.Second}
	require.Eventually(t, func() bool {
		names, err := c.Names(context.Background(), "127.0.0.1")
		return err == nil && len(names) == 2
	}, 10*time.Second, 20*time.Millisecond)
	assert.True(t, (a.Server() != nil) != (b.Server() != nil), "exactly one node serves EPMD now")
	_, _, err = c.Lookup(context.Background(), "127.0.0.1", "owner")
	assert.ErrorIs(t, err, ErrNotFound)
}

func TestRegistrarWithoutServer(t *testing.T) {
	r := testRegistrar(nodetest.Port(t), Options{DisableServer: true})
	_, err := r.Register(newNode("x@127.0.0.1"), routes(15008))
	assert.Error(t, err)
	assert.Nil(t, r.Server())
}

func TestRegistrarHiddenModeNoAcceptor(t *testing.T) {
	s, c := startServer(t)
	r := testRegistrar(c.Port, Options{})
	_, err := r.Register(newNode("h@127.0.0.1"), gen.RegisterRoutes{})
	require.NoError(t, err)
	defer r.Terminate()
	assert.Empty(t, s.Nodes())
	_, err = r.Resolve("h@127.0.0.1")
	assert.ErrorContains(t, err, "no proto version")

	r2 := testRegistrar(c.Port, Options{ProtoVersion: protoV})
	_, err = r2.Register(newNode("h2@127.0.0.1"), gen.RegisterRoutes{})
	require.NoError(t, err)
	defer r2.Terminate()
	_, err = r2.Resolve("nobody@127.0.0.1")
	assert.ErrorIs(t, err, ErrNotFound)
}

func TestRegistrarRefusesOldNodes(t *testing.T) {
	_, c := startServer(t)
	reg, err := c.Register(context.Background(), "127.0.0.1", NodeInfo{Name: "r22", Port: 1, HighestVersion: 5, LowestVersion: 5})
	require.NoError(t, err)
	defer reg.Close()
	r := testRegistrar(c.Port, Options{ProtoVersion: protoV})
	_, err = r.Resolve("r22@127.0.0.1")
	assert.ErrorContains(t, err, "version 6 is required")
}

func TestRegistrarUnsupported(t *testing.T) {
	r := New(Options{})
	for _, err := range []error{
		r.RegisterProxy("x"), r.UnregisterProxy("x"),
		r.RegisterApplicationRoute(gen.ApplicationRoute{}), r.UnregisterApplicationRoute("x"),
	} {
		assert.ErrorIs(t, err, gen.ErrUnsupported)
	}
	_, err := r.Config()
	assert.ErrorIs(t, err, gen.ErrUnsupported)
	_, err = r.ConfigItem("x")
	assert.ErrorIs(t, err, gen.ErrUnsupported)
	_, err = r.Event()
	assert.ErrorIs(t, err, gen.ErrUnsupported)
	_, err = r.ResolveProxy("x")
	assert.ErrorIs(t, err, gen.ErrUnsupported)
	_, err = r.ResolveApplication("x")
	assert.ErrorIs(t, err, gen.ErrUnsupported)
	r.Terminate() // before Register: nothing to do
}

// An EPMD on its way out accepts and then drops the connection: the registrar tries again,
// finds the port free, and serves EPMD itself.
func TestRegistrarRetriesWhenEPMDDropsTheConnection(t *testing.T) {
	port := nodetest.Port(t)
	l, err := net.Listen("tcp4", "127.0.0.1:"+strconv.Itoa(int(port)))
	require.NoError(t, err)
	go func() {
		c, err := l.Accept()
		if err == nil {
			c.Close() // dropped without an answer
		}
		l.Close() // and gone
	}()
	r := testRegistrar(port, Options{})
	_, err = r.Register(newNode("retry@127.0.0.1"), routes(15009))
	require.NoError(t, err)
	defer r.Terminate()
	require.NotNil(t, r.Server())
}
