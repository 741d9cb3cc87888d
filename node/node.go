package node

import (
	"fmt"
	"net"
	"sync"
	"time"

	"ergo.services/ergo"
	"ergo.services/ergo/app/system"
	"ergo.services/ergo/gen"

	"github.com/gobeam/gobeam/node/dist"
	"github.com/gobeam/gobeam/node/epmd"
	"github.com/gobeam/gobeam/node/global"
	"github.com/gobeam/gobeam/node/handshake"
	"github.com/gobeam/gobeam/node/kernel"
)

// Start starts an Ergo node named name (name@host, as erl's -name) with the Erlang distribution
// stack: it registers with EPMD (running an embedded EPMD when none is up), listens for BEAM
// nodes, and connects to them on demand when a process sends to one.
//
// Ergo's system application reports usage to Ergo's authors unless the node's environment holds
// system.DISABLE_METRICS; a node that joins someone's cluster must not phone home, so Start sets
// it whatever opts.Ergo.Env says. Ergo's start-up banner is switched off for the same kind of
// reason: the node lives inside someone else's service and its logs.
func Start(name string, opts Options) (gen.Node, error) {
	_, host, err := checkName(name)
	if err != nil {
		return nil, err
	}
	cookie, err := opts.cookie()
	if err != nil {
		return nil, fmt.Errorf("node: %w", err)
	}
	peerCookies, err := opts.peerCookies()
	if err != nil {
		return nil, err
	}
	epmdPort, err := opts.epmdPort()
	if err != nil {
		return nil, err
	}
	listenHost := opts.ListenHost
	switch {
	case listenHost != "":
	case opts.DistPort != 0:
		listenHost = host
	default:
		listenHost = everyInterface()
	}
	portMin, portMax, err := opts.listenPorts(listenHost)
	if err != nil {
		return nil, err
	}
	nodeOpts := opts.Ergo
	// Ergo's acceptor turns to TLS whenever the node has a certificate, while routes to
	// other nodes say themselves whether to dial with TLS: both sides are set here together.
	if nodeOpts.CertManager != nil {
		return nil, fmt.Errorf("node: set Options.TLS, not Options.Ergo.CertManager, to run the distribution over TLS")
	}
	if opts.TLS != nil {
		if nodeOpts.CertManager, err = opts.TLS.certManager(); err != nil {
			return nil, err
		}
	}

	hs := handshake.New(handshake.Options{Hidden: !opts.Visible, Timeout: opts.HandshakeTimeout, Cookie: cookie, Cookies: peerCookies})
	// The kernel answers what every OTP node answers: net_kernel (ping), rex, spawn requests
	// and erpc calls of registered Go functions.
	k := kernel.New(kernel.Options{Registry: opts.Registry, TickTime: opts.TickTime})
	distOpts := opts.distOptions()
	distOpts.Spawn = k.Spawn
	// Which peers are visible: global syncs with those only (every BEAM node starts the sync
	// itself; two Go nodes need to be told).
	var visiblePeers sync.Map
	peerOf := distOpts.PeerFromHandshake
	distOpts.PeerFromHandshake = func(result gen.HandshakeResult) (dist.Peer, error) {
		if d, ok := handshake.DetailsOf(result); ok {
			visiblePeers.Store(d.Peer, !d.Hidden())
		}
		return peerOf(result)
	}
	proto := dist.New(distOpts)
	registrar := &nodeRegistrar{Registrar: epmd.New(epmd.Options{
		Port:             epmdPort,
		DisableServer:    opts.NoEmbeddedEPMD || opts.DistPort != 0,
		FixedPort:        opts.DistPort,
		HandshakeVersion: hs.Version(),
		ProtoVersion:     proto.Version(),
		OnResolve:        hs.ExpectPeer,
		TLS:              opts.TLS != nil,
	})}

	env := make(map[gen.Env]any, len(nodeOpts.Env)+1)
	for k, v := range nodeOpts.Env {
		env[k] = v
	}
	env[system.DISABLE_METRICS] = true
	nodeOpts.Env = env
	// A library embedded in someone's service does not print a logo into its logs.
	nodeOpts.Log.DefaultLogger.DisableBanner = true

	// An Erlang hidden node still accepts connections; only its flags and its EPMD entry say
	// hidden. So the Ergo network always runs in enabled mode, with an acceptor.
	nodeOpts.Network = gen.NetworkOptions{
		Mode:               gen.NetworkModeEnabled,
		Cookie:             cookie,
		Registrar:          registrar,
		Handshake:          hs,
		Proto:              proto,
		MaxMessageSize:     opts.MaxMessageSize,
		Flags:              networkFlags,
		InsecureSkipVerify: opts.TLS != nil && opts.TLS.InsecureSkipVerify,
		Acceptors: []gen.AcceptorOptions{{
			// Ergo listens on IPv4 only unless told otherwise; "tcp" also takes an IPv6 host,
			// as inet6_tcp nodes have (app@fdaa::3).
			TCP:            "tcp",
			Host:           listenHost,
			Port:           portMin,
			PortRange:      portMax,
			Cookie:         cookie,
			MaxMessageSize: opts.MaxMessageSize,
			Flags:          networkFlags,
			Handshake:      hs,
			Proto:          proto,
		}},
	}
	waitForANewCreation(name)
	n, err := ergo.StartNode(gen.Atom(name), nodeOpts)
	if err != nil {
		return nil, fmt.Errorf("node: starting %s: %w", name, err)
	}
	creations.Store(name, n.Creation())
	if err := registrar.registerErr; err != nil {
		n.Stop()
		return nil, fmt.Errorf("node: starting %s: %w", name, err)
	}
	// Ergo's own SIGINT/SIGTERM handler was kept from starting (ctrlc.go); its flag is cleared
	// so that n.SetCTRLC(true) can still turn it on. An Ergo without that flag gets the
	// handler switched off, which can race with its start.
	if registrar.ctrlc != nil {
		registrar.ctrlc.Store(false)
	} else {
		n.SetCTRLC(false)
	}
	trackHandshake(n, hs, registrar)
	if err := k.Start(n); err != nil {
		n.Stop()
		return nil, fmt.Errorf("node: %w", err)
	}
	if opts.Visible {
		g := opts.Global
		if g.Visible == nil {
			g.Visible = func(peer gen.Atom) bool {
				v, ok := visiblePeers.Load(peer)
				return ok && v.(bool)
			}
		}
		if _, err := global.Start(n, g); err != nil {
			n.Stop()
			return nil, fmt.Errorf("node: starting global: %w", err)
		}
	}
	return n, nil
}

// creations holds the creation of the last node Start started under each name.
var creations sync.Map // string -> int64

// waitForANewCreation waits, if need be, until a node named name started now gets another
// creation than the last one started under that name in this process. Ergo's creation is the
// second the node starts in, and a pid is its node's name, creation and a number that Ergo
// hands out from the same start every time: a node stopped and started again within one second
// would take the pids of the one before, and messages BEAM processes still had for those would
// reach the new node's processes. (Erl has EPMD count creations up; Ergo gives a node no say.)
func waitForANewCreation(name string) {
	if last, ok := creations.Load(name); ok {
		time.Sleep(time.Until(time.Unix(last.(int64)+1, 0)))
	}
}

// networkFlags are the Ergo-level capabilities: Erlang distribution has no Ergo remote spawn,
// application start, proxies or important delivery, so none is announced.
var networkFlags = gen.NetworkFlags{Enable: true, EnableFragmentation: true}

// everyInterface is the wildcard address to listen on: "::", which Go opens for IPv4 and IPv6
// alike, where the system has IPv6, else "0.0.0.0". (Ergo reads an empty host as the host of
// the node's name.)
func everyInterface() string {
	l, err := net.Listen("tcp", "[::]:0")
	if err != nil {
		return "0.0.0.0"
	}
	l.Close()
	return "::"
}
