// Command manifold-node puts a Go node into an Erlang/Elixir cluster: it joins over Erlang
// distribution (EPMD, handshake, DIST) and runs Manifold's partitioners and senders, so Elixir
// nodes can fan out to Go processes and offload fan-out to Go.
//
//	manifold-node --name go@10.0.0.5 --cookie secret --partitioners 4
//	manifold-node --demo        # a Go node and an Elixir node fanning out to each other
//
// Every flag has an environment variable (GOBEAM_NAME, GOBEAM_COOKIE, ...); a flag given on the
// command line wins.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode"

	"ergo.services/ergo/gen"
	"github.com/spf13/pflag"

	"github.com/gobeam/gobeam/apps/echo"
	"github.com/gobeam/gobeam/apps/nodestats"
	"github.com/gobeam/gobeam/manifold"
	"github.com/gobeam/gobeam/node"
	"github.com/gobeam/gobeam/node/kernel"
)

type config struct {
	name, sname, cookie  string
	nameSource           string // --name or GOBEAM_NAME, for errors found at start
	peerCookies          map[string]string
	epmdPort             uint16
	hidden, visible      bool
	listen, listenHost   string
	listenMin, listenMax uint16 // --listen, read
	distPort             uint16
	ticktime             time.Duration
	maxMessageSize       byteSize
	tlsCert, tlsKey      string
	tlsCA                string
	tlsServerName        string
	partitioners         int
	workers              int
	senders              int
	wireShape            int
	statsEvery           time.Duration
	drainTimeout         time.Duration

	echo bool

	demo         bool
	demoDuration time.Duration
	demoPids     int
}

func main() {
	cfg, err := parseFlags(os.Args[1:])
	if errors.Is(err, pflag.ErrHelp) {
		return // pflag has printed the usage
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "manifold-node:", err)
		os.Exit(2)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	// The first signal starts the drain; once it is under way, the signals' default action
	// is back, so a second Ctrl-C ends a drain or a stop that takes too long.
	go func() {
		<-ctx.Done()
		stop()
	}()
	if cfg.demo {
		err = runDemo(ctx, cfg, log)
	} else {
		err = run(ctx, cfg, log)
	}
	if err != nil {
		log.Error("manifold-node failed", "error", err)
		os.Exit(1)
	}
}

func parseFlags(args []string) (config, error) {
	var c config
	fs := pflag.NewFlagSet("manifold-node", pflag.ContinueOnError)
	fs.StringVar(&c.name, "name", "", "long node name, name@host (as erl -name)")
	fs.StringVar(&c.sname, "sname", "", "short node name; the host is this machine's short hostname (as erl -sname)")
	fs.StringVar(&c.cookie, "cookie", "", "magic cookie (default: ~/.erlang.cookie, created if missing, as erl does)")
	fs.StringToStringVar(&c.peerCookies, "peer-cookie", nil, "NODE=COOKIE: the cookie of one peer, both ways, as erlang:set_cookie(Node, Cookie); repeat for more (default: --cookie for every peer)")
	port := fs.Uint16("epmd-port", 0, "EPMD port (default: $ERL_EPMD_PORT or 4369); an embedded EPMD starts if none runs")
	fs.BoolVar(&c.visible, "visible", false, "join as a visible node: in nodes() of BEAM nodes, and running global")
	fs.BoolVar(&c.hidden, "hidden", false, "join as a hidden node (as erl -hidden); the default")
	distPort := fs.Uint16("dist-port", 0, "run without EPMD, as erl -erl_epmd_port PORT: listen on PORT and reach every node at PORT")
	fs.StringVar(&c.listen, "listen", "", "distribution listen port or range, e.g. 9100 or 9100-9199 (default: any free port)")
	fs.StringVar(&c.listenHost, "listen-host", "", "address to listen on (default: every interface, as erl; with --dist-port, the host of the node's name)")
	fs.DurationVar(&c.ticktime, "ticktime", 60*time.Second, "net_ticktime: a silent peer is down after this long")
	fs.Var(&c.maxMessageSize, "max-message-size", "largest distribution message a peer may send, e.g. 64MiB; a peer that sends more loses its connection (default: no limit, as BEAM)")
	fs.StringVar(&c.tlsCert, "tls-cert", "", "run the distribution over TLS (as erl -proto_dist inet_tls): this node's certificate chain, PEM")
	fs.StringVar(&c.tlsKey, "tls-key", "", "the private key of --tls-cert, PEM")
	fs.StringVar(&c.tlsCA, "tls-ca", "", "authorities, PEM, that peers' certificates must chain to, both ways (default: the system's for nodes dialled, none asked of nodes dialling in)")
	fs.StringVar(&c.tlsServerName, "tls-server-name", "", "name every dialled node's certificate must carry (default: the host part of its node name)")
	fs.IntVar(&c.partitioners, "partitioners", 0, "Manifold partitioners a sender chooses from (default: GOMAXPROCS, at most 32)")
	fs.IntVar(&c.workers, "workers", 0, "Manifold workers per partitioner (default: GOMAXPROCS; each partitioner runs workers+1)")
	fs.IntVar(&c.senders, "senders", 0, "Manifold senders for offloaded sends (default: GOMAXPROCS, at most 128)")
	fs.IntVar(&c.wireShape, "wire-shape", 3, "cast shape toward BEAM nodes: 3 = {send, Pids, Msg} (Manifold <= 1.7.0), 4 = {send, Pids, Msg, Opts}")
	fs.DurationVar(&c.statsEvery, "stats-every", 10*time.Second, "how often to log Manifold's counters (0: never)")
	fs.DurationVar(&c.drainTimeout, "drain-timeout", 10*time.Second, "on SIGINT/SIGTERM, how long to let queued casts be delivered and relayed before stopping")
	fs.BoolVar(&c.echo, "echo", false, "let BEAM code spawn Go test receivers: Node.spawn(gonode, Echo, :reply | :reply_loop | :noop_loop, [])")
	fs.BoolVar(&c.demo, "demo", false, "run the live demo: this node and an Elixir node fan out to each other")
	fs.DurationVar(&c.demoDuration, "demo-duration", 5*time.Second, "how long the demo fans out")
	fs.IntVar(&c.demoPids, "demo-pids", 1000, "receivers on each side in the demo")

	if err := fs.Parse(args); err != nil {
		return c, err
	}
	// Then the environment, for the flags not on the command line, which overrides it: a
	// flag given there takes no value from its variable (--peer-cookie does not add to
	// GOBEAM_PEER_COOKIE), nor does the flag it excludes (GOBEAM_VISIBLE=true with --hidden
	// means hidden).
	excludes := map[string]string{"hidden": "visible", "visible": "hidden", "name": "sname", "sname": "name",
		"dist-port": "listen", "listen": "dist-port"}
	given := map[string]bool{}
	fs.Visit(func(f *pflag.Flag) { given[f.Name] = true })
	fromEnv := map[string]string{}
	var envErr error
	fs.VisitAll(func(f *pflag.Flag) {
		if given[f.Name] || given[excludes[f.Name]] {
			return
		}
		key := envKey(f.Name)
		if v, ok := os.LookupEnv(key); ok {
			fromEnv[f.Name] = key
			if err := f.Value.Set(v); err != nil && envErr == nil {
				envErr = fmt.Errorf("%s=%q: %w", key, v, err)
			}
		}
	})
	if envErr != nil {
		return c, envErr
	}
	// source names where a flag's value came from, for the errors of the checks below.
	source := func(name string) string {
		if key, ok := fromEnv[name]; ok {
			return key
		}
		return "--" + name
	}
	c.epmdPort = *port
	c.distPort = *distPort
	if c.distPort > node.MaxListenPort {
		return c, fmt.Errorf("%s is 1..%d, not %d", source("dist-port"), node.MaxListenPort, c.distPort)
	}
	if c.distPort != 0 && c.listen != "" {
		return c, fmt.Errorf("%s and %s exclude each other: without EPMD the node listens on the port of %[1]s", source("dist-port"), source("listen"))
	}
	if c.hidden && c.visible {
		return c, fmt.Errorf("%s and %s exclude each other", source("hidden"), source("visible"))
	}
	if c.name != "" && c.sname != "" {
		return c, fmt.Errorf("%s and %s exclude each other", source("name"), source("sname"))
	}
	if c.wireShape != 3 && c.wireShape != 4 {
		return c, fmt.Errorf("%s is 3 or 4, not %d", source("wire-shape"), c.wireShape)
	}
	if c.partitioners < 0 || c.partitioners > manifold.MaxPartitioners {
		return c, fmt.Errorf("%s is 1..%d (0: the default), not %d", source("partitioners"), manifold.MaxPartitioners, c.partitioners)
	}
	if c.senders < 0 || c.senders > manifold.MaxSenders {
		return c, fmt.Errorf("%s is 1..%d (0: the default), not %d", source("senders"), manifold.MaxSenders, c.senders)
	}
	if c.workers < 0 || c.workers > manifold.MaxWorkers {
		return c, fmt.Errorf("%s is 1..%d (0: the default), not %d", source("workers"), manifold.MaxWorkers, c.workers)
	}
	if c.drainTimeout < 0 {
		return c, fmt.Errorf("%s cannot be negative", source("drain-timeout"))
	}
	if c.ticktime < time.Second {
		return c, fmt.Errorf("%s is at least 1s", source("ticktime"))
	}
	if c.statsEvery < 0 {
		return c, fmt.Errorf("%s cannot be negative", source("stats-every"))
	}
	if c.demoPids < 1 {
		return c, fmt.Errorf("%s is at least 1", source("demo-pids"))
	}
	if c.demoDuration <= 0 {
		return c, fmt.Errorf("%s is more than 0", source("demo-duration"))
	}
	if c.demo {
		// The demo runs its own two nodes on 127.0.0.1, with a cookie and an EPMD of their
		// own: a node flag on the command line would be ignored without a word. (The
		// environment may hold them for the node the program otherwise runs.)
		var unused []string
		fs.Visit(func(f *pflag.Flag) {
			if !demoFlags[f.Name] {
				unused = append(unused, "--"+f.Name)
			}
		})
		if len(unused) > 0 {
			return c, fmt.Errorf("--demo runs nodes of its own and does not use %s", strings.Join(unused, ", "))
		}
	}
	if (c.tlsCert == "") != (c.tlsKey == "") {
		return c, fmt.Errorf("%s and %s go together", source("tls-cert"), source("tls-key"))
	}
	if c.tlsCert == "" && (c.tlsCA != "" || c.tlsServerName != "") {
		return c, fmt.Errorf("%s and %s need %s and %s", source("tls-ca"), source("tls-server-name"), source("tls-cert"), source("tls-key"))
	}
	if err := node.CheckCookies(c.peerCookies); err != nil {
		return c, fmt.Errorf("%s: %w", source("peer-cookie"), err)
	}
	if c.listen != "" {
		var err error
		if c.listenMin, c.listenMax, err = portRange(c.listen); err != nil {
			return c, fmt.Errorf("%s %q: %w", source("listen"), c.listen, err)
		}
	}
	c.nameSource = source("name")
	return c, nil
}

// demoFlags are the flags --demo uses.
var demoFlags = map[string]bool{"demo": true, "demo-duration": true, "demo-pids": true,
	"partitioners": true, "workers": true, "senders": true, "wire-shape": true}

// portRange reads PORT or MIN-MAX, ports a node can listen on.
func portRange(s string) (uint16, uint16, error) {
	lo, hi, ranged := strings.Cut(s, "-")
	min, err := strconv.ParseUint(lo, 10, 16)
	if err != nil {
		return 0, 0, errors.New("want PORT or MIN-MAX")
	}
	max := min
	if ranged {
		if max, err = strconv.ParseUint(hi, 10, 16); err != nil || max < min {
			return 0, 0, errors.New("want PORT or MIN-MAX, MIN not above MAX")
		}
	}
	if min < 1 || max > node.MaxListenPort {
		return 0, 0, fmt.Errorf("ports are 1..%d", node.MaxListenPort)
	}
	return uint16(min), uint16(max), nil
}

// envKey is the environment variable of a flag: GOBEAM_ and its name in capitals, - as _.
func envKey(flag string) string {
	return "GOBEAM_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// fullHostname is this machine's host name with its domain: the host name itself when it has
// one, else its canonical name in DNS.
func fullHostname() (string, error) {
	host, err := os.Hostname()
	if err != nil {
		return "", err
	}
	if strings.Contains(host, ".") {
		return host, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if cname, err := net.DefaultResolver.LookupCNAME(ctx, host); err == nil {
		if cname = strings.TrimSuffix(cname, "."); strings.Contains(cname, ".") {
			return cname, nil
		}
	}
	return "", fmt.Errorf("this machine's host name %q has no domain (erl -name fails there too)", host)
}

// nodeName is the full node name from --name or --sname.
func (c config) nodeName(defaultAlive string) (string, error) {
	switch {
	case c.name != "":
		if strings.Contains(c.name, "@") {
			return c.name, nil
		}
		// As erl -name NAME: the host is this machine's full name, which must have a domain.
		host, err := fullHostname()
		if err != nil {
			return "", fmt.Errorf("%s %s: %w; give the host too, as in %s@10.0.0.5", c.nameSource, c.name, err, c.name)
		}
		return c.name + "@" + host, nil
	case c.sname != "":
		host, err := os.Hostname()
		if err != nil {
			return "", err
		}
		host, _, _ = strings.Cut(host, ".")
		return c.sname + "@" + host, nil
	}
	return defaultAlive + "@127.0.0.1", nil
}

func (c config) nodeOptions(log *slog.Logger) (node.Options, error) {
	o := node.Options{Cookie: c.cookie, Cookies: c.peerCookies, EPMDPort: c.epmdPort, DistPort: c.distPort, Visible: c.visible,
		ListenHost: c.listenHost, TickTime: c.ticktime, MaxMessageSize: int(c.maxMessageSize)}
	// The node's own log lines (connections, EPMD, supervisors) go to the program's slog
	// handler: one stream of structured records, on stderr.
	o.Ergo.Log.DefaultLogger.Disable = true
	o.Ergo.Log.Loggers = []gen.Logger{{Name: "slog", Logger: node.SlogLogger(log)}}
	if c.echo {
		o.Registry = &kernel.Registry{}
		if err := echo.Register(o.Registry); err != nil {
			return o, err
		}
	}
	if c.tlsCert != "" {
		t, err := node.LoadTLS(c.tlsCert, c.tlsKey, c.tlsCA)
		if err != nil {
			return o, err
		}
		t.ServerName = c.tlsServerName
		o.TLS = t
	}
	o.ListenPortMin, o.ListenPortMax = c.listenMin, c.listenMax
	return o, nil
}

func (c config) manifoldConfig() manifold.Config {
	return manifold.Config{
		Partitioners: c.partitioners,
		Workers:      c.workers,
		Senders:      c.senders,
		Shape:        manifold.Shape(c.wireShape),
	}
}

// byteSize is a flag's size in bytes: a number, optionally followed by KiB, MiB or GiB (or
// K, M, G, KB, MB, GB, all powers of 1,024).
type byteSize int64

func (b *byteSize) String() string { return strconv.FormatInt(int64(*b), 10) }
func (b *byteSize) Type() string   { return "bytes" }

func (b *byteSize) Set(s string) error {
	num := strings.TrimRightFunc(s, unicode.IsLetter)
	shift := 0
	switch strings.ToUpper(strings.TrimSpace(s[len(num):])) {
	case "", "B":
	case "K", "KB", "KIB":
		shift = 10
	case "M", "MB", "MIB":
		shift = 20
	case "G", "GB", "GIB":
		shift = 30
	default:
		return fmt.Errorf("%q: want a number of bytes, optionally with KiB, MiB or GiB", s)
	}
	n, err := strconv.ParseInt(strings.TrimSpace(num), 10, 64)
	if err != nil || n < 0 || n > math.MaxInt32>>shift {
		return fmt.Errorf("%q: want a number of bytes from 0 to 2 GiB, optionally with KiB, MiB or GiB", s)
	}
	*b = byteSize(n << shift)
	return nil
}

func rate(n uint64, secs float64) int64 {
	if secs <= 0 {
		return 0
	}
	return int64(float64(n) / secs)
}

// run is the daemon: a node with Manifold until SIGINT or SIGTERM.
func run(ctx context.Context, c config, log *slog.Logger) error {
	name, err := c.nodeName("manifold")
	if err != nil {
		return err
	}
	opts, err := c.nodeOptions(log)
	if err != nil {
		return err
	}
	n, err := node.Start(name, opts)
	if err != nil {
		return err
	}
	m, err := manifold.Start(n, c.manifoldConfig())
	if err != nil {
		n.Stop()
		return err
	}
	if _, err := nodestats.Start(n, m); err != nil {
		n.Stop()
		return err
	}
	cfg := m.Config()
	log.Info("node up", "node", string(n.Name()), "partitioners", cfg.Partitioners, "workers", cfg.Workers,
		"senders", cfg.Senders, "wire_shape", cfg.Shape.String(), "visible", c.visible)

	var tick <-chan time.Time
	if c.statsEvery > 0 {
		t := time.NewTicker(c.statsEvery)
		defer t.Stop()
		tick = t.C
	}
	var links nodestats.Links
	last, lastAt := m.Stats(), time.Now()
	lastLinks := map[gen.Atom]nodestats.Link{}
	for {
		select {
		case <-ctx.Done():
			shutdown(n, m, c.drainTimeout, log)
			return nil
		case now := <-tick:
			s := m.Stats()
			secs := now.Sub(lastAt).Seconds()
			log.Info("manifold", append(statsAttrs(s),
				"casts_in_per_s", rate(s.CastsIn-last.CastsIn, secs),
				"deliveries_per_s", rate(s.Deliveries-last.Deliveries, secs),
				"relayed_per_s", rate(s.Relayed-last.Relayed, secs),
				"sends_per_s", rate(s.Sends-last.Sends, secs))...)
			observed := links.Observe(n)
			listed := make(map[gen.Atom]bool, len(observed))
			for _, l := range observed {
				listed[l.Node] = true
				prev, seen := lastLinks[l.Node]
				if !l.Up && seen && !prev.Up {
					continue // a lost link is logged once, when it goes down
				}
				logLink(log, l, prev, secs)
				lastLinks[l.Node] = l
			}
			for node := range lastLinks {
				if !listed[node] { // lost longer than Links.KeepDown
					delete(lastLinks, node)
				}
			}
			last, lastAt = s, now
		}
	}
}

// logLink logs the state of one link and its traffic since the previous observation, prev.
func logLink(log *slog.Logger, l, prev nodestats.Link, secs float64) {
	state := "up"
	if !l.Up {
		state = "down"
	}
	attrs := []any{"peer", string(l.Node), "state", state, "for", time.Since(l.Since).Round(time.Second)}
	if l.Up {
		if prev.Since != l.Since { // a new connection: its counters started from zero
			prev = nodestats.Link{}
		}
		attrs = append(attrs,
			"msgs_in_per_s", rate(l.MessagesIn-prev.MessagesIn, secs),
			"msgs_out_per_s", rate(l.MessagesOut-prev.MessagesOut, secs),
			"bytes_in_per_s", rate(l.BytesIn-prev.BytesIn, secs),
			"bytes_out_per_s", rate(l.BytesOut-prev.BytesOut, secs))
		if l.MessagesUndelivered > 0 { // lost to full mailboxes over the connection's life
			attrs = append(attrs, "msgs_undelivered", l.MessagesUndelivered)
		}
	}
	log.Info("link", attrs...)
}

// shutdown stops cleanly: the casts already accepted are delivered and relayed, and what that
// queued toward other nodes is written, before Manifold and then the node stop.
func shutdown(n gen.Node, m *manifold.Manifold, timeout time.Duration, log *slog.Logger) {
	log.Info("draining", "node", string(n.Name()), "timeout", timeout)
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := m.Drain(ctx); err != nil {
		log.Warn("stopping before everything queued went out", "error", err)
	}
	s := m.Stats()
	log.Info("stopping", append([]any{"node", string(n.Name()), "drained_in", time.Since(start).Round(time.Millisecond)},
		statsAttrs(s)...)...)
	m.Stop()
	n.Stop()
}

// statsAttrs are Manifold's counters as log attributes.
func statsAttrs(s manifold.Stats) []any {
	return []any{"casts_in", s.CastsIn, "deliveries", s.Deliveries, "relayed", s.Relayed,
		"sends", s.Sends, "dropped", s.Dropped, "undelivered", s.Undelivered}
}
