package integration

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"ergo.services/ergo/gen"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gobeam/gobeam/integration/erlpeer"
	"github.com/gobeam/gobeam/node/epmd"
	"github.com/gobeam/gobeam/node/handshake"
	"github.com/gobeam/gobeam/node/nodetest"
)

// EPMD against real Erlang: epmd's own client lists a Go node registered with the embedded
// server, erl registers with the embedded server and is resolved from Go, and the Go client
// registers and resolves against a real epmd, also across an epmd restart.

// epmdTestProto stands for the DIST protocol's version in routes; these tests dial themselves.
var epmdTestProto = gen.Version{Name: "erlang-dist", Release: "6"}

// epmdGoNode is the part of an Ergo node the registrar and the handshake use.
type epmdGoNode struct {
	gen.NodeRegistrar
	name     gen.Atom
	creation int64
	log      *epmdLog
}

func newEPMDGoNode(prefix string) *epmdGoNode {
	return &epmdGoNode{
		name:     gen.Atom(erlpeer.UniqueName(prefix) + "@127.0.0.1"),
		creation: time.Now().Unix(),
		log:      &epmdLog{},
	}
}

func (n *epmdGoNode) Name() gen.Atom       { return n.name }
func (n *epmdGoNode) Creation() int64      { return n.creation }
func (n *epmdGoNode) Version() gen.Version { return gen.Version{Name: "gobeam-test"} }
func (n *epmdGoNode) Log() gen.Log         { return n.log }

func (n *epmdGoNode) alive() string { return strings.SplitN(string(n.name), "@", 2)[0] }

// epmdLog records what the packages log.
type epmdLog struct {
	gen.Log
	mu    sync.Mutex
	lines []string
}

func (l *epmdLog) add(level, format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, level+": "+sprintfArgs(format, args...))
}
func (l *epmdLog) Info(format string, args ...any)    { l.add("info", format, args...) }
func (l *epmdLog) Warning(format string, args ...any) { l.add("warning", format, args...) }
func (l *epmdLog) Error(format string, args ...any)   { l.add("error", format, args...) }
func (l *epmdLog) Debug(format string, args ...any)   { l.add("debug", format, args...) }
func (l *epmdLog) text() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// epmdRegistrar registers n (acceptor port acceptPort) on the EPMD at port, starting the
// embedded server when none runs there.
func epmdRegistrar(t *testing.T, n *epmdGoNode, port, acceptPort uint16, opts epmd.Options) *epmd.Registrar {
	t.Helper()
	opts.Port = port
	if opts.ServerAddr == "" {
		opts.ServerAddr = "127.0.0.1:" + strconv.Itoa(int(port))
	}
	r := epmd.New(opts)
	_, err := r.Register(n, gen.RegisterRoutes{Routes: []gen.Route{{
		Port: acceptPort, HandshakeVersion: handshake.Version, ProtoVersion: epmdTestProto,
	}}})
	require.NoError(t, err)
	t.Cleanup(r.Terminate)
	return r
}

// epmdCommand runs the epmd of the selected release (through its chroot prefix, if any).
func epmdCommand(t *testing.T, port uint16, args ...string) *exec.Cmd {
	t.Helper()
	release := erlpeer.RequireRelease(t)
	argv := append(append([]string{}, release.Command[:len(release.Command)-1]...), "epmd")
	argv = append(argv, args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(cmd.Environ(), "ERL_EPMD_PORT="+strconv.Itoa(int(port)))
	return cmd
}

func TestEPMDNamesOfRealEpmdListsGoNode(t *testing.T) {
	port := nodetest.Port(t)
	n := newEPMDGoNode("gonames")
	r := epmdRegistrar(t, n, port, 23456, epmd.Options{})
	require.NotNil(t, r.Server(), "no EPMD ran on the port: the registrar must serve it")

	out, err := epmdCommand(t, port, "-names").CombinedOutput()
	require.NoError(t, err, "epmd -names: %s", out)
	assert.Contains(t, string(out), "epmd: up and running on port "+strconv.Itoa(int(port))+" with data:")
	assert.Contains(t, string(out), "name "+n.alive()+" at port 23456\n")
}

func TestEPMDErlRegistersWithEmbeddedServer(t *testing.T) {
	for _, short := range []bool{false, true} {
		t.Run(map[bool]string{false: "name", true: "sname"}[short], func(t *testing.T) {
			port := nodetest.Port(t)
			n := newEPMDGoNode("goembed")
			// Every interface, as erl with -sname reaches the EPMD of its host name.
			r := epmdRegistrar(t, n, port, 23457, epmd.Options{ServerAddr: ":" + strconv.Itoa(int(port))})
			require.NotNil(t, r.Server())

			p := erlpeer.Start(t, erlpeer.Options{
				Name: erlpeer.UniqueName("erlembed"), ShortNames: short, EPMDPort: int(port), NoStartEPMD: true,
			})
			alive, host, err := epmd.SplitNodeName(string(p.Node()))
			require.NoError(t, err)

			// The server has it, with the port erl listens on and a 32-bit creation.
			var info epmd.NodeInfo
			for _, ni := range r.Server().Nodes() {
				if ni.Name == alive {
					info = ni
				}
			}
			require.Equal(t, alive, info.Name, "erl is registered")
			assert.Equal(t, epmd.NodeTypeNormal, info.Type)
			assert.True(t, info.Supports(6))
			erlPort := p.MustEval(`{port, P, _} = erl_epmd:port_please("` + alive + `", "127.0.0.1"), P`)
			assert.Equal(t, int64(info.Port), erlPort)
			creation := p.MustEval(`erlang:system_info(creation)`)
			assert.Greater(t, creation, int64(3), "erl got a creation from the embedded server")

			// The Go client resolves erl by its full name (host name included for -sname).
			routes, err := r.Resolve(gen.Atom(p.Node()))
			require.NoError(t, err, "resolving %s via %s", p.Node(), host)
			require.Len(t, routes, 1)
			assert.Equal(t, info.Port, routes[0].Port)
			assert.Equal(t, handshake.Version, routes[0].HandshakeVersion)
			assert.Equal(t, epmdTestProto, routes[0].ProtoVersion)

			// erl's net_adm lists the Go node through the embedded server's NAMES.
			listed := p.MustEval(`{ok, Ns} = net_adm:names("127.0.0.1"), lists:keymember("` + n.alive() + `", 1, Ns)`)
			assert.Equal(t, true, listed)
			nodes, err := r.Nodes()
			require.NoError(t, err)
			assert.Contains(t, nodes, n.name)
		})
	}
}

// realEPMD runs the release's epmd in the foreground on port until the test ends (or stop).
func realEPMD(t *testing.T, port uint16) (stop func()) {
	t.Helper()
	cmd := epmdCommand(t, port, "-port", strconv.Itoa(int(port)))
	require.NoError(t, cmd.Start())
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cmd.Process.Kill()
			<-done
		})
	}
	t.Cleanup(stop)
	c := &epmd.Client{Port: port, Timeout: time.Second}
	require.Eventually(t, func() bool {
		_, err := c.Names(context.Background(), "127.0.0.1")
		return err == nil
	}, 10*time.Second, 20*time.Millisecond, "epmd did not come up on port %d", port)
	return stop
}

func TestEPMDClientAgainstRealEpmd(t *testing.T) {
	port := nodetest.Port(t)
	realEPMD(t, port)

	n := newEPMDGoNode("goreal")
	r := epmdRegistrar(t, n, port, 23458, epmd.Options{DisableServer: true})
	assert.Nil(t, r.Server())
	assert.Greater(t, r.Creation(), uint32(3), "epmd hands out 32-bit creations to version 6 nodes")

	c := &epmd.Client{Port: port}
	info, addr, err := c.Lookup(context.Background(), "127.0.0.1", n.alive())
	require.NoError(t, err)
	assert.Equal(t, epmd.NodeInfo{
		Name: n.alive(), Port: 23458, Type: epmd.NodeTypeNormal, Protocol: epmd.ProtocolTCP,
		HighestVersion: 6, LowestVersion: 6,
	}, info)
	assert.Equal(t, "127.0.0.1", addr.String())

	// A hidden erl registers as a normal node (type 77), as the Go node does whether hidden or
	// not: hidden is the handshake's affair.
	hidden := erlpeer.Start(t, erlpeer.Options{Name: erlpeer.UniqueName("erlhidden"), EPMDPort: int(port), NoStartEPMD: true, Hidden: true})
	hiddenAlive, _, err := epmd.SplitNodeName(string(hidden.Node()))
	require.NoError(t, err)
	info, _, err = c.Lookup(context.Background(), "127.0.0.1", hiddenAlive)
	require.NoError(t, err)
	assert.Equal(t, epmd.NodeTypeNormal, info.Type)

	// A name is taken once.
	dup := &epmdGoNode{name: n.name, log: &epmdLog{}}
	_, err = epmd.New(epmd.Options{Port: port, DisableServer: true}).Register(dup,
		gen.RegisterRoutes{Routes: []gen.Route{{Port: 1, ProtoVersion: epmdTestProto}}})
	assert.ErrorIs(t, err, epmd.ErrNameTaken)

	// erl registered with the same epmd is resolved, at the port epmd gives erl itself.
	p := erlpeer.Start(t, erlpeer.Options{Name: erlpeer.UniqueName("erlreal"), EPMDPort: int(port), NoStartEPMD: true})
	alive, _, err := epmd.SplitNodeName(string(p.Node()))
	require.NoError(t, err)
	routes, err := r.Resolve(gen.Atom(p.Node()))
	require.NoError(t, err)
	require.Len(t, routes, 1)
	erlPort := p.MustEval(`{port, P, _} = erl_epmd:port_please("` + alive + `", "127.0.0.1"), P`)
	assert.Equal(t, erlPort, int64(routes[0].Port))
	assert.Equal(t, "127.0.0.1", routes[0].Host)

	names, err := c.Names(context.Background(), "127.0.0.1")
	require.NoError(t, err)
	var got []string
	for _, e := range names {
		got = append(got, e.Name)
	}
	assert.ElementsMatch(t, []string{n.alive(), hiddenAlive, alive}, got)

	_, err = r.Resolve(gen.Atom("nobody@127.0.0.1"))
	assert.ErrorIs(t, err, epmd.ErrNotFound)
}

// epmd is killed and started again: the Go node registers again by itself.
func TestEPMDReregistersAfterRealEpmdRestart(t *testing.T) {
	port := nodetest.Port(t)
	stop := realEPMD(t, port)
	n := newEPMDGoNode("gorestart")
	epmdRegistrar(t, n, port, 23460, epmd.Options{DisableServer: true})

	stop()
	realEPMD(t, port)
	c := &epmd.Client{Port: port, Timeout: time.Second}
	require.Eventually(t, func() bool {
		info, _, err := c.Lookup(context.Background(), "127.0.0.1", n.alive())
		return err == nil && info.Port == 23460
	}, 15*time.Second, 50*time.Millisecond, "the Go node did not register again")
	assert.Contains(t, n.log.text(), "lost the registration of "+n.alive())
	assert.Contains(t, n.log.text(), n.alive()+" registered again")
}

func sprintfArgs(format string, args ...any) string { return fmt.Sprintf(format, args...) }
