package epmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"ergo.services/ergo/gen"
	"github.com/gobeam/gobeam/node/handshake"
)

// Version identifies the registrar to Ergo.
var Version = gen.Version{Name: "erlang-epmd", Release: "2", License: gen.LicenseMIT}

// Options configure a Registrar.
type Options struct {
	// Port is the EPMD port, on this host and on every other (PortFromEnv when zero).
	Port uint16
	// Host is where this node's EPMD runs ("127.0.0.1" when empty). Registration is only
	// possible with an EPMD on the node's own host.
	Host string
	// DisableServer stops the registrar from starting an embedded EPMD server when none runs.
	DisableServer bool
	// ServerAddr is where an embedded server listens (":Port", every interface, when empty).
	ServerAddr string
	// HandshakeVersion and ProtoVersion are what routes to resolved nodes carry, so Ergo picks
	// the Erlang handshake and DIST protocol for them. HandshakeVersion defaults to
	// handshake.Version; both default to the versions of the node's acceptor. A node without
	// acceptors (hidden network mode) must set ProtoVersion.
	HandshakeVersion gen.Version
	ProtoVersion     gen.Version
	// OnResolve is called with every resolved node and its routes; wire it to
	// (*handshake.Handshake).ExpectPeer so simultaneous connects are detected.
	OnResolve func(node gen.Atom, routes []gen.Route)
	// Timeout bounds each EPMD request (DefaultTimeout when zero).
	Timeout time.Duration
	// FixedPort runs the cluster without EPMD, as erl nodes started with -erl_epmd_port Port
	// (and -start_epmd false) do: every node listens on that one port, so the registrar
	// registers nowhere, starts no server, and resolves every node to the host part of its name
	// and FixedPort.
	FixedPort uint16
	// TLS marks every resolved route as TLS, for a node whose distribution runs over TLS (erl's
	// -proto_dist inet_tls): EPMD does not say which carrier a node uses, the whole cluster
	// agrees on it. Such routes dial the host part of the node name rather than the address EPMD
	// answered on, so that the peer's certificate is checked against its name, as erl does.
	TLS bool
}

// Registrar publishes an Ergo node in EPMD and resolves other nodes through EPMD, as
// gen.Registrar and gen.Resolver.
//
// Register keeps the ALIVE2 connection open for the life of the node. When no EPMD runs on this
// host it starts an embedded one (unless DisableServer), so a Go-only deployment needs no
// Erlang installation. When the registration drops (the EPMD stopped or was restarted) it
// registers again, with backoff, against whatever EPMD answers; if none has for two seconds
// (time for an epmd being restarted to take its port back), it starts an embedded server
// itself.
//
// The node owning the embedded server takes it down when it stops. The other Go nodes then
// register again: one of them starts a new embedded server and the rest register with it.
// Erlang nodes registered with the stopped server do not re-register (erl never does, also
// with a real epmd that dies) and become unreachable by name until restarted; where Erlang
// nodes share the host, run a real epmd (`epmd -daemon`) so the registry outlives any node.
//
// Features EPMD does not have (proxies, application routes, configuration, events) return
// gen.ErrUnsupported.
type Registrar struct {
	opts   Options
	client Client

	mu       sync.Mutex
	node     gen.NodeRegistrar
	info     NodeInfo // what is registered
	reg      *Registration
	server   *Server
	protoVer gen.Version
	hsVer    gen.Version
	stop     chan struct{}
	done     chan struct{}
	stopped  bool
	creation atomic.Uint32
	log      Logger
}

// New returns a registrar with the given options.
func New(options Options) *Registrar {
	if options.Port == 0 {
		options.Port = PortFromEnv()
	}
	if options.Host == "" {
		options.Host = "127.0.0.1"
	}
	if options.ServerAddr == "" {
		options.ServerAddr = ":" + strconv.Itoa(int(options.Port))
	}
	if options.Timeout <= 0 {
		options.Timeout = DefaultTimeout
	}
	r := &Registrar{
		opts:     options,
		client:   Client{Port: options.Port, Timeout: options.Timeout},
		hsVer:    options.HandshakeVersion,
		protoVer: options.ProtoVersion,
		log:      nopLogger{},
	}
	if r.hsVer == (gen.Version{}) {
		r.hsVer = handshake.Version
	}
	return r
}

// Creation returns the creation EPMD handed out at the latest registration (0 before one).
// The node announces its own creation in handshakes; this one is informational.
func (r *Registrar) Creation() uint32 { return r.creation.Load() }

// Server returns the embedded EPMD server this registrar runs, or nil.
func (r *Registrar) Server() *Server {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.server
}

// Register implements gen.Registrar: it publishes the node's acceptor port in EPMD.
func (r *Registrar) Register(node gen.NodeRegistrar, routes gen.RegisterRoutes) (gen.StaticRoutes, error) {
	name, _, err := SplitNodeName(string(node.Name()))
	if err != nil {
		return gen.StaticRoutes{}, err
	}
	r.mu.Lock()
	if r.node != nil || r.stopped {
		r.mu.Unlock()
		return gen.StaticRoutes{}, fmt.Errorf("epmd: registrar already used for %s", node.Name())
	}
	r.node = node
	if log := node.Log(); log != nil {
		r.log = log
	}
	var port uint16
	for _, route := range routes.Routes {
		if route.Port == 0 {
			continue
		}
		port = route.Port
		if r.opts.ProtoVersion == (gen.Version{}) {
			r.protoVer = route.ProtoVersion
		}
		if r.opts.HandshakeVersion == (gen.Version{}) && route.HandshakeVersion != (gen.Version{}) {
			r.hsVer = route.HandshakeVersion
		}
		break
	}
	// r.info and r.log do not change after this point; the keeper reads them unlocked.
	// A node registers as a normal node (77) hidden or not, as erl does: hidden is a matter of
	// the handshake's flags; type 72 is C nodes'.
	r.info = NodeInfo{
		Name: name, Port: port, Type: NodeTypeNormal, Protocol: ProtocolTCP,
		HighestVersion: DistVersion, LowestVersion: DistVersion,
	}
	r.mu.Unlock()

	if port == 0 {
		// No acceptor (hidden network mode): nothing can reach this node by name, so there is
		// nothing to publish. Resolving other nodes still works.
		r.log.Info("epmd: %s has no acceptor, not registered", node.Name())
		return gen.StaticRoutes{}, nil
	}
	if fixed := r.opts.FixedPort; fixed != 0 {
		if port != fixed {
			return gen.StaticRoutes{}, fmt.Errorf("epmd: %s listens on port %d, but every node of a cluster without EPMD listens on %d", node.Name(), port, fixed)
		}
		r.log.Info("epmd: not used: every node listens on port %d", fixed)
		return gen.StaticRoutes{}, nil
	}

	reg, err := r.register(time.Time{})
	if err != nil {
		return gen.StaticRoutes{}, err
	}
	r.mu.Lock()
	if r.stopped {
		r.mu.Unlock()
		reg.Close()
		return gen.StaticRoutes{}, errTerminated
	}
	r.reg = reg
	r.stop = make(chan struct{})
	r.done = make(chan struct{})
	go r.keep(reg, r.stop, r.done)
	r.mu.Unlock()
	return gen.StaticRoutes{}, nil
}

var errTerminated = errors.New("epmd: registrar terminated")

// maxDropped is how many times registering is tried again after EPMD dropped the connection.
const maxDropped = 4

// droppedByEPMD reports an error of a connection that EPMD accepted and then closed or reset.
func droppedByEPMD(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

// register publishes r.info, starting an embedded server when no EPMD answers, from serveAfter
// on. It holds no lock while talking to EPMD, so resolving is never held up by a registration
// in progress.
func (r *Registrar) register(serveAfter time.Time) (*Registration, error) {
	triedServer, dropped := false, 0
	for {
		reg, err := r.client.Register(context.Background(), r.opts.Host, r.info)
		if err == nil {
			r.creation.Store(reg.Creation)
			return reg, nil
		}
		if droppedByEPMD(err) && dropped < maxDropped {
			// An EPMD going away (another node's embedded one stopping) can accept and then
			// drop the connection; a moment later the port is either free or served again.
			dropped++
			time.Sleep(time.Duration(dropped) * 50 * time.Millisecond)
			continue
		}
		r.mu.Lock()
		serving := r.server != nil
		r.mu.Unlock()
		if r.opts.DisableServer || !errors.Is(err, syscall.ECONNREFUSED) || serving || triedServer ||
			time.Now().Before(serveAfter) {
			return nil, err
		}
		triedServer = true
		// Nothing listens: become the host's EPMD. Losing the race to bind to another node
		// doing the same is fine, the next attempt registers with the winner.
		server, lerr := Listen(ServerOptions{Addr: r.opts.ServerAddr, Log: r.log, RequestTimeout: r.opts.Timeout})
		if lerr != nil {
			if !errors.Is(lerr, syscall.EADDRINUSE) {
				return nil, fmt.Errorf("epmd: no EPMD on port %d and starting one failed: %w", r.opts.Port, lerr)
			}
			continue
		}
		r.mu.Lock()
		if r.stopped {
			r.mu.Unlock()
			server.Close()
			return nil, errTerminated
		}
		r.server = server
		r.mu.Unlock()
		r.log.Info("epmd: no EPMD on port %d, started an embedded one on %s", r.opts.Port, server.Addr())
	}
}

// takeOverGrace is how long after losing its registration a node waits for an EPMD to answer
// again before it starts an embedded one.
const takeOverGrace = 2 * time.Second

// keep watches the registration and registers again when it drops, until stop closes.
func (r *Registrar) keep(reg *Registration, stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	for {
		select {
		case <-stop:
			return
		case <-reg.Done():
			// Terminate closes stop before the registration: a registration ended by Terminate
			// is never mistaken for a lost one.
			select {
			case <-stop:
				return
			default:
			}
		}
		r.log.Warning("epmd: lost the registration of %s at %s, registering again", r.info.Name, reg.Server)

		// An epmd being restarted (by systemd, say) needs its port back: only when none has
		// answered for takeOverGrace does this node serve EPMD itself.
		serveAfter := time.Now().Add(takeOverGrace)
		backoff := 50 * time.Millisecond
		var lastErr string
		for {
			next, err := r.register(serveAfter)
			if err == nil {
				r.mu.Lock()
				if r.stopped {
					r.mu.Unlock()
					next.Close()
					return
				}
				r.reg = next
				r.mu.Unlock()
				reg = next
				r.log.Info("epmd: %s registered again at %s (creation %d)", r.info.Name, next.Server, next.Creation)
				break
			}
			if errors.Is(err, errTerminated) {
				return
			}
			if msg := err.Error(); msg != lastErr {
				r.log.Warning("epmd: registering %s again failed, retrying: %s", r.info.Name, err)
				lastErr = msg
			}
			select {
			case <-stop:
				return
			case <-time.After(jitter(backoff)):
			}
			backoff = min(backoff*2, 5*time.Second)
		}
	}
}

// jitter spreads the retries of nodes that lost the same EPMD, so they do not all race to
// start a server at the same instant.
func jitter(d time.Duration) time.Duration {
	return d/2 + time.Duration(time.Now().UnixNano()%int64(d/2+1))
}

// Terminate implements gen.Registrar: unregisters the node and stops an embedded server.
func (r *Registrar) Terminate() {
	r.mu.Lock()
	if r.stopped {
		r.mu.Unlock()
		return
	}
	r.stopped = true
	reg, server, stop, done := r.reg, r.server, r.stop, r.done
	r.reg, r.server = nil, nil
	r.mu.Unlock()

	if stop != nil {
		close(stop)
	}
	if reg != nil {
		reg.Close()
	}
	if done != nil {
		<-done
	}
	if server != nil {
		server.Close()
	}
}

// Resolver implements gen.Registrar.
func (r *Registrar) Resolver() gen.Resolver { return r }

// Resolve implements gen.Resolver: it asks the EPMD on the node's host for its port. The route
// carries the address EPMD answered on and the Erlang handshake and proto versions.
func (r *Registrar) Resolve(node gen.Atom) ([]gen.Route, error) {
	name, host, err := SplitNodeName(string(node))
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	hsVer, protoVer := r.hsVer, r.protoVer
	r.mu.Unlock()
	if protoVer == (gen.Version{}) {
		return nil, fmt.Errorf("epmd: cannot route to %s: no proto version known (set Options.ProtoVersion)", node)
	}
	// Without EPMD (FixedPort) every node is at its host and that port; else EPMD says.
	routeHost, port := host, r.opts.FixedPort
	if port == 0 {
		info, addr, err := r.client.Lookup(context.Background(), host, name)
		if err != nil {
			return nil, err
		}
		if !info.Supports(DistVersion) {
			return nil, fmt.Errorf("epmd: %s speaks distribution versions %d-%d, version %d is required",
				node, info.LowestVersion, info.HighestVersion, DistVersion)
		}
		if addr.IsValid() && !r.opts.TLS {
			routeHost = addr.String()
		}
		port = info.Port
	}
	routes := []gen.Route{{
		Host:             routeHost,
		Port:             port,
		TLS:              r.opts.TLS,
		HandshakeVersion: hsVer,
		ProtoVersion:     protoVer,
	}}
	if r.opts.OnResolve != nil {
		r.opts.OnResolve(node, routes)
	}
	return routes, nil
}

// ResolveProxy implements gen.Resolver; EPMD knows no proxies.
func (r *Registrar) ResolveProxy(gen.Atom) ([]gen.ProxyRoute, error) { return nil, gen.ErrUnsupported }

// ResolveApplication implements gen.Resolver; EPMD knows no applications.
func (r *Registrar) ResolveApplication(gen.Atom) ([]gen.ApplicationRoute, error) {
	return nil, gen.ErrUnsupported
}

// Nodes implements gen.Registrar: the nodes registered with this host's EPMD. Without EPMD
// (FixedPort) there is no such list.
func (r *Registrar) Nodes() ([]gen.Atom, error) {
	if r.opts.FixedPort != 0 {
		return nil, gen.ErrUnsupported
	}
	entries, err := r.client.Names(context.Background(), r.opts.Host)
	if err != nil {
		return nil, err
	}
	host := r.opts.Host
	r.mu.Lock()
	if r.node != nil {
		if _, h, err := SplitNodeName(string(r.node.Name())); err == nil {
			host = h
		}
	}
	r.mu.Unlock()
	nodes := make([]gen.Atom, 0, len(entries))
	for _, e := range entries {
		nodes = append(nodes, gen.Atom(e.Name+"@"+host))
	}
	return nodes, nil
}

// RegisterProxy implements gen.Registrar; unsupported by EPMD.
func (r *Registrar) RegisterProxy(gen.Atom) error { return gen.ErrUnsupported }

// UnregisterProxy implements gen.Registrar; unsupported by EPMD.
func (r *Registrar) UnregisterProxy(gen.Atom) error { return gen.ErrUnsupported }

// RegisterApplicationRoute implements gen.Registrar; unsupported by EPMD.
func (r *Registrar) RegisterApplicationRoute(gen.ApplicationRoute) error { return gen.ErrUnsupported }

// UnregisterApplicationRoute implements gen.Registrar; unsupported by EPMD.
func (r *Registrar) UnregisterApplicationRoute(gen.Atom) error { return gen.ErrUnsupported }

// Config implements gen.Registrar; unsupported by EPMD.
func (r *Registrar) Config(...string) (map[string]any, error) { return nil, gen.ErrUnsupported }

// ConfigItem implements gen.Registrar; unsupported by EPMD.
func (r *Registrar) ConfigItem(string) (any, error) { return nil, gen.ErrUnsupported }

// Event implements gen.Registrar; unsupported by EPMD.
func (r *Registrar) Event() (gen.Event, error) { return gen.Event{}, gen.ErrUnsupported }

// Info implements gen.Registrar.
func (r *Registrar) Info() gen.RegistrarInfo {
	r.mu.Lock()
	defer r.mu.Unlock()
	return gen.RegistrarInfo{
		Server:         net.JoinHostPort(r.opts.Host, strconv.Itoa(int(r.opts.Port))),
		EmbeddedServer: r.server != nil,
		Version:        Version,
	}
}

// Version implements gen.Registrar.
func (r *Registrar) Version() gen.Version { return Version }

type nopLogger struct{}

func (nopLogger) Info(string, ...any)    {}
func (nopLogger) Warning(string, ...any) {}
func (nopLogger) Error(string, ...any)   {}
