package epmd

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"time"
)

// Logger is what the server and the registrar log through; gen.Log satisfies it.
type Logger interface {
	Info(format string, args ...any)
	Warning(format string, args ...any)
	Error(format string, args ...any)
}

// ServerOptions configure an embedded EPMD server.
type ServerOptions struct {
	// Addr is the listen address (":" + PortFromEnv() when empty: every interface, like epmd).
	Addr string
	// Log receives registrations and anomalies; nil discards them.
	Log Logger
	// RequestTimeout bounds how long a client may take to send its request (5 s when zero).
	RequestTimeout time.Duration
	// MaxConnections bounds concurrent connections, registrations included (1024 when zero).
	MaxConnections int
}

// Server is an EPMD daemon running inside the process, so that a deployment of Go nodes needs
// no Erlang installation, and `epmd -names`, `erl -sname x` and erl_epmd lookups work against
// it as against epmd.
//
// It follows epmd: ALIVE2 only from the local host, the registration lives as long as its
// connection, a name can be registered once, creations are handed out as epmd does, NAMES and
// DUMP list the nodes, PORT_PLEASE2 answers for one. KILL is refused, as epmd refuses it while
// nodes are registered (a server embedded in a node lives as long as the node, registered or
// not), and STOP is ignored, as epmd does unless started with -relaxed_command_check: a node's
// registry must not be torn down from outside.
type Server struct {
	opts     ServerOptions
	listener net.Listener
	port     uint16
	slots    chan struct{}

	mu     sync.Mutex
	nodes  map[string]*registered // by alive name
	order  uint64                 // registration counter, for epmd's newest-first listing
	unused unusedNames
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

type registered struct {
	info     NodeInfo
	counter  uint32 // creation counter, as epmd keeps it
	conn     net.Conn
	order    uint64
	sequence int // connection number, shown by DUMP in place of epmd's file descriptor
}

// Listen starts an EPMD server. It fails (with an error wrapping syscall.EADDRINUSE) when
// something, usually an epmd, already listens on the address.
func Listen(options ServerOptions) (*Server, error) {
	if options.Addr == "" {
		options.Addr = ":" + strconv.Itoa(int(PortFromEnv()))
	}
	if options.RequestTimeout <= 0 {
		options.RequestTimeout = 5 * time.Second
	}
	if options.MaxConnections <= 0 {
		options.MaxConnections = 1024
	}
	l, err := net.Listen("tcp", options.Addr)
	if err != nil {
		return nil, fmt.Errorf("epmd: %w", err)
	}
	return serve(l, options), nil
}

// serve runs a server on l, with options complete.
func serve(l net.Listener, options ServerOptions) *Server {
	s := &Server{
		opts:     options,
		listener: l,
		port:     uint16(l.Addr().(*net.TCPAddr).Port),
		slots:    make(chan struct{}, options.MaxConnections),
		nodes:    make(map[string]*registered),
		conns:    make(map[net.Conn]struct{}),
	}
	s.wg.Add(1)
	go s.accept()
	return s
}

// Addr returns the address the server listens on.
func (s *Server) Addr() net.Addr { return s.listener.Addr() }

// Nodes returns the registered nodes, newest first (the order of `epmd -names`).
func (s *Server) Nodes() []NodeInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []NodeInfo
	for _, r := range s.sorted() {
		out = append(out, r.info)
	}
	return out
}

// Close stops the server and closes every connection: the nodes registered with it see their
// registration end, as when an epmd is killed.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	err := s.listener.Close()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return err
}

func (s *Server) accept() {
	defer s.wg.Done()
	var sequence int
	var pause time.Duration
	for {
		conn, err := s.listener.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Anything else passes, as for epmd: out of file descriptors (EMFILE, ENFILE,
			// until connections close), a connection reset before it was taken. The nodes
			// of the host depend on this server; it must not stop answering over one.
			if pause == 0 {
				s.logf(Logger.Error, "epmd: accepting a connection: %s; retrying", err)
			}
			pause = min(max(2*pause, 5*time.Millisecond), time.Second)
			time.Sleep(pause)
			continue
		}
		if pause != 0 {
			s.logf(Logger.Info, "epmd: accepting connections again")
			pause = 0
		}
		select {
		case s.slots <- struct{}{}:
		default:
			s.logf(Logger.Warning, "epmd: %d connections open, refusing %s", cap(s.slots), conn.RemoteAddr())
			conn.Close()
			continue
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			conn.Close()
			<-s.slots
			return
		}
		s.conns[conn] = struct{}{}
		s.mu.Unlock()
		sequence++
		s.wg.Add(1)
		go s.serve(conn, sequence)
	}
}

func (s *Server) serve(conn net.Conn, sequence int) {
	defer func() {
		s.mu.Lock()
		delete(s.conns, conn)
		s.mu.Unlock()
		conn.Close()
		<-s.slots
		s.wg.Done()
	}()
	conn.SetDeadline(time.Now().Add(s.opts.RequestTimeout))
	body, err := readRequest(conn)
	if err != nil {
		return
	}
	req, err := DecodeRequest(body)
	if err != nil {
		// Garbage gets no answer: the connection is closed. Only a failed registration is worth
		// a log line (a scanner's probes are not).
		if body[0] == tagAlive2Req {
			s.logf(Logger.Warning, "epmd: bad ALIVE2_REQ from %s: %s", conn.RemoteAddr(), err)
			// epmd refuses a registration it cannot take (a name over 255 characters, say)
			// with result 1, in the form the node's highest version reads, once it has that.
			if len(body) >= 7 {
				extended := binary.BigEndian.Uint16(body[5:7]) >= 6
				conn.Write(AppendAlive2Response(nil, Alive2Response{Result: 1, Creation: 99, Extended: extended}))
			}
		}
		return
	}
	switch r := req.(type) {
	case *Alive2Request:
		s.alive2(conn, r.Node, sequence)
	case *PortPlease2Request:
		conn.Write(AppendPort2Response(nil, s.lookup(r.Name)))
	case *NamesRequest:
		conn.Write(s.names())
	case *DumpRequest:
		if isLocal(conn) {
			conn.Write(s.dump())
		}
	case *KillRequest:
		if isLocal(conn) {
			conn.Write([]byte("NO"))
		}
	case *StopRequest:
		// Ignored without a reply, as by epmd without -relaxed_command_check.
	}
}

// alive2 registers the node and holds the connection until it closes.
func (s *Server) alive2(conn net.Conn, node NodeInfo, sequence int) {
	if !isLocal(conn) {
		// Only a node on this host may register here; epmd hangs up on others.
		s.logf(Logger.Warning, "epmd: ALIVE2_REQ for %q from non-local address %s refused", node.Name, conn.RemoteAddr())
		return
	}
	extended := node.HighestVersion >= 6
	s.mu.Lock()
	if _, taken := s.nodes[node.Name]; taken || s.closed {
		s.mu.Unlock()
		conn.Write(AppendAlive2Response(nil, Alive2Response{Result: 1, Creation: 99, Extended: extended}))
		s.logf(Logger.Warning, "epmd: name %q is already registered", node.Name)
		return
	}
	r := &registered{info: node, conn: conn, sequence: sequence, counter: s.unused.take(node.Name)}
	s.order++
	r.order = s.order
	s.nodes[node.Name] = r
	s.mu.Unlock()

	creation := r.creation()
	if _, err := conn.Write(AppendAlive2Response(nil, Alive2Response{Creation: creation, Extended: extended})); err != nil {
		s.unregister(r)
		return
	}
	s.logf(Logger.Info, "epmd: registered %s at port %d (creation %d)", node.Name, node.Port, creation)

	// The registration lives as long as the connection. Nothing more is expected on it.
	conn.SetDeadline(time.Time{})
	awaitClose(conn)
	s.unregister(r)
	s.logf(Logger.Info, "epmd: unregistered %s", node.Name)
}

func (s *Server) unregister(r *registered) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.nodes[r.info.Name] == r {
		delete(s.nodes, r.info.Name)
		s.unused.put(r.info.Name, r.counter)
	}
}

func (s *Server) lookup(name string) Port2Response {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r, ok := s.nodes[name]; ok {
		return Port2Response{Node: r.info}
	}
	return Port2Response{Result: 1}
}

func (s *Server) sorted() []*registered {
	out := make([]*registered, 0, len(s.nodes))
	for _, r := range s.nodes {
		out = append(out, r)
	}
	// Newest first, as epmd keeps its list.
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].order > out[j-1].order; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

func (s *Server) names() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	var entries []NameEntry
	for _, r := range s.sorted() {
		entries = append(entries, NameEntry{Name: r.info.Name, Port: r.info.Port})
	}
	return AppendNamesResponse(nil, uint32(s.port), entries)
}

// dump answers DUMP_REQ in epmd's format (each line NUL-terminated). epmd also lists the names
// it remembers for their creations; those have no port or connection here.
func (s *Server) dump() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := binary.BigEndian.AppendUint32(nil, uint32(s.port))
	for _, r := range s.sorted() {
		b = fmt.Appendf(b, "active name     <%s> at port %d, fd = %d\n\x00", r.info.Name, r.info.Port, r.sequence)
	}
	for _, name := range s.unused.names {
		b = fmt.Appendf(b, "old/unused name <%s>, port = 0, fd = 0 \n\x00", name)
	}
	return b
}

func (s *Server) logf(level func(Logger, string, ...any), format string, args ...any) {
	if s.opts.Log != nil {
		level(s.opts.Log, format, args...)
	}
}

// creation is the creation of the registration as epmd computes it: the counter for nodes
// speaking version 6 (32-bit creations), 1-3 for older ones.
func (r *registered) creation() uint32 {
	if r.info.HighestVersion >= 6 {
		return r.counter
	}
	return r.counter%3 + 1
}

// unusedNames remembers the creation counters of names no longer registered, so a node that
// comes back under the same name gets the next creation and its old pids stay distinguishable.
// Like epmd it forgets the oldest beyond maxUnused.
type unusedNames struct {
	names    []string
	counters map[string]uint32
}

const maxUnused = 1000

// take returns the next creation counter for name: one past the remembered one, or, for a new
// name, one past the current time (epmd's seed); never below 4, since 0 is the wildcard
// creation and 1-3 are what 16-bit responses hand out.
func (u *unusedNames) take(name string) uint32 {
	counter, ok := u.counters[name]
	if ok {
		delete(u.counters, name)
		for i, n := range u.names {
			if n == name {
				u.names = append(u.names[:i], u.names[i+1:]...)
				break
			}
		}
	} else {
		counter = uint32(time.Now().Unix())
	}
	counter++
	if counter < 4 {
		counter = 4
	}
	return counter
}

func (u *unusedNames) put(name string, counter uint32) {
	if u.counters == nil {
		u.counters = make(map[string]uint32)
	}
	if len(u.names) >= maxUnused {
		delete(u.counters, u.names[0])
		u.names = u.names[1:]
	}
	u.names = append(u.names, name)
	u.counters[name] = counter
}

// readRequest reads one length-prefixed request.
func readRequest(r io.Reader) ([]byte, error) {
	var head [2]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return nil, err
	}
	n := int(binary.BigEndian.Uint16(head[:]))
	if n == 0 || n > maxRequestLength {
		return nil, malformed("request length %d", n)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		return nil, err
	}
	return body, nil
}

// isLocal tells connections from this host apart, as epmd does: a loopback peer, or a peer
// whose address is the one it connected to.
func isLocal(conn net.Conn) bool {
	remote, ok1 := conn.RemoteAddr().(*net.TCPAddr)
	local, ok2 := conn.LocalAddr().(*net.TCPAddr)
	if !ok1 || !ok2 {
		return false
	}
	return remote.IP.IsLoopback() || remote.IP.Equal(local.IP)
}
