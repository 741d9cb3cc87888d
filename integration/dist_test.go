package integration

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"net"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"ergo.services/ergo/gen"
	"github.com/stretchr/testify/require"

	"github.com/gobeam/gobeam/etf"
	"github.com/gobeam/gobeam/integration/erlpeer"
	"github.com/gobeam/gobeam/node"
	"github.com/gobeam/gobeam/node/epmd"
	"github.com/gobeam/gobeam/node/handshake"
)

// The distribution transport against real erl: connections both ways, order, size, ticks,
// a peer killed and restarted, and several nodes on the Go node's embedded EPMD.

const seqCount = 100_000

func TestDistErlConnectsAndSendsInOrder(t *testing.T) {
	c := newCluster(t)
	gn := c.goNode("go", node.Options{})
	_, out := spawnInbox(t, gn, "inbox", seqCount+16)
	p := c.erlNode("erl", erlpeer.Options{})
	logRelease(t, p)

	// erl dials the Go node (found through the Go node's EPMD) and sends to its registered name.
	erlSendsInOrder(t, p, gn, out, "reg", seqCount)
	require.True(t, connected(gn, p.Node()))
}

func TestDistGoConnectsAndSendsInOrder(t *testing.T) {
	c := newCluster(t)
	gn := c.goNode("go", node.Options{})
	p := c.erlNode("erl", erlpeer.Options{})

	// The Go node dials erl (EPMD lookup, handshake as initiator) and sends to its pid.
	goSendsInOrder(t, gn, p, seqCount, time.Minute)
}

// Many Go processes sending at once to a node the Go node is not connected to yet: one
// connection comes up, every send goes through it, nothing is lost, each sender's messages
// arrive in order.
func TestDistConcurrentFirstSendsShareOneConnection(t *testing.T) {
	for round := 0; round < 3; round++ {
		c := newCluster(t)
		gn := c.goNode("go", node.Options{})
		p := c.erlNode("erl", erlpeer.Options{})
		const senders, each = 16, 2000
		collectors := make([]etf.PID, senders)
		for i := range collectors {
			collectors[i] = p.MustCall("gobeam_dist", "start_collector", each).(etf.PID)
		}
		start := make(chan struct{})
		errs := make(chan error, senders)
		for i := range collectors {
			go func(to etf.PID) {
				<-start
				for k := 1; k <= each; k++ {
					if err := gn.Send(to, etf.Tuple{etf.Atom("seq"), etf.Atom("go"), k}); err != nil {
						errs <- err
						return
					}
				}
				errs <- nil
			}(collectors[i])
		}
		close(start)
		for range collectors {
			require.NoError(t, <-errs)
		}
		for _, col := range collectors {
			require.Equal(t, etf.Atom("ok"), p.MustCall("gobeam_dist", "await_collector", col, 30_000))
		}
		require.Equal(t, etf.List{gn.Name()}, p.MustEval(`nodes(hidden).`))
	}
}

// echoPeers starts a Go node with an inbox (holding up to capacity messages unread) and an erl
// node whose registered echo answers {From, Msg} with From ! {echo, Msg}.
func echoPeers(t *testing.T, capacity int) (gn gen.Node, inbox gen.PID, out chan any, p *erlpeer.Peer) {
	c := newCluster(t)
	gn = c.goNode("go", node.Options{})
	inbox, out = spawnInbox(t, gn, "inbox", capacity)
	p = c.erlNode("erl", erlpeer.Options{})
	p.MustCall("gobeam_dist", "start_echo", etf.Atom("echo"))
	return gn, inbox, out, p
}

func TestDistPidsRoundTrip(t *testing.T) {
	gn, pid, out, p := echoPeers(t, 16)

	// erl sends to the Go pid itself, not its name.
	_, err := p.EvalWith(`Pid ! {hello, self()}, ok.`, map[string]etf.Term{"Pid": pid})
	require.NoError(t, err)
	m := receive(t, out, 10*time.Second).(etf.Tuple)
	require.Equal(t, etf.Atom("hello"), m[0])
	erlPid, ok := m[1].(etf.PID)
	require.True(t, ok)
	require.Equal(t, p.Node(), erlPid.Node)

	// Go sends back to that erl pid's echo, naming itself as the sender's mailbox.
	require.NoError(t, gn.Send(gen.ProcessID{Name: "echo", Node: p.Node()}, etf.Tuple{pid, "ping"}))
	require.Equal(t, etf.Tuple{etf.Atom("echo"), []byte("ping")}, receive(t, out, 10*time.Second))
}

// A Map that holds a key twice is no map term: binary_to_term refuses it, and a node that reads
// one on a distribution connection closes the connection. The Go node refuses to send it, and
// the connection, with the messages around it, is untouched.
func TestDistMapWithAKeyTwiceIsRefusedAndTheLinkStays(t *testing.T) {
	gn, pid, out, p := echoPeers(t, 16)
	echo := gen.ProcessID{Name: "echo", Node: p.Node()}
	require.NoError(t, gn.Send(echo, etf.Tuple{pid, "before"}))
	require.Equal(t, etf.Tuple{etf.Atom("echo"), []byte("before")}, receive(t, out, 10*time.Second))
	before := distController(t, p, gn.Name())

	twice := etf.Map{{Key: "id", Value: int64(1)}, {Key: []byte("id"), Value: int64(2)}}
	err := gn.Send(echo, etf.Tuple{pid, twice})
	require.ErrorContains(t, err, "duplicate map key")

	require.NoError(t, gn.Send(echo, etf.Tuple{pid, etf.Map{{Key: "id", Value: int64(1)}}}))
	require.Equal(t, etf.Tuple{etf.Atom("echo"), etf.Map{{Key: []byte("id"), Value: int64(1)}}},
		receive(t, out, 10*time.Second))
	require.Equal(t, before, distController(t, p, gn.Name()), "the connection is the one from before")
}

func TestDistTenMegabytesEachWay(t *testing.T) {
	const size = 10 << 20
	c := newCluster(t)
	gn := c.goNode("go", node.Options{})
	pid, out := spawnInbox(t, gn, "inbox", 4)
	p := c.erlNode("erl", erlpeer.Options{})
	want := pattern(size)

	_, err := p.EvalWith(`Pid ! {big, gobeam_dist:pattern(Size)}, ok.`, map[string]etf.Term{"Pid": pid, "Size": size})
	require.NoError(t, err)
	m := receive(t, out, 60*time.Second).(etf.Tuple)
	require.Equal(t, etf.Atom("big"), m[0])
	require.Equal(t, len(want), len(m[1].([]byte)))
	require.Equal(t, sha256.Sum256(want), sha256.Sum256(m[1].([]byte)))

	// erl checks what it received against the pattern it builds itself: Go's encoding of the
	// binary is judged by erl, not by Go decoding it back.
	collector := checkingCollector(t, p, 1, `fun(_) -> gobeam_dist:pattern(Size) end`, map[string]etf.Term{"Size": size})
	require.NoError(t, gn.Send(collector, etf.Tuple{etf.Atom("seq"), etf.Atom("big"), 1, want}))
	require.Equal(t, etf.Atom("ok"), p.MustCall("gobeam_dist", "await_collector", collector, 60_000))
}

// checkingCollector starts a collector on p for count messages that checks each payload
// against expect, an Erlang fun of the sequence number I giving the payload that message must
// carry (no_payload for none), with vars bound. await_collector reports a payload that differs.
func checkingCollector(t *testing.T, p *erlpeer.Peer, count int, expect string, vars map[string]etf.Term) etf.PID {
	t.Helper()
	v, err := p.EvalWith(`gobeam_dist:start_collector(`+strconv.Itoa(count)+`, `+expect+`).`, vars)
	require.NoError(t, err)
	collector, ok := v.(etf.PID)
	require.True(t, ok, "start_collector returned %v", v)
	return collector
}

func TestDistIdleLinkSurvivesTicks(t *testing.T) {
	const tick = 4 // seconds; erl's net_ticktime is whole seconds
	c := newCluster(t)
	gn := c.goNode("go", node.Options{TickTime: tick * time.Second})
	p := c.erlNode("erl", erlpeer.Options{NetTickTime: tick})
	p.MustCall("gobeam_dist", "monitor_nodes")
	require.Equal(t, true, p.MustCall("net_kernel", "connect_node", gn.Name()))

	time.Sleep(2*tick*time.Second + time.Second) // past twice the tick time, with no traffic
	require.True(t, connected(gn, p.Node()), "Go node dropped the idle link")
	events := p.MustCall("gobeam_dist", "node_events").(etf.List)
	require.Len(t, events, 1, "erl saw the link go down and up: %v", events)
	require.Equal(t, etf.Atom("nodeup"), events[0].(etf.Tuple)[0])
	require.Equal(t, gn.Name(), events[0].(etf.Tuple)[1])
}

func TestDistKilledPeerIsDetectedAndComesBack(t *testing.T) {
	const tick = 4
	c := newCluster(t)
	gn := c.goNode("go", node.Options{TickTime: tick * time.Second})
	_, out := spawnInbox(t, gn, "inbox", 16)
	opts := erlpeer.Options{NetTickTime: tick}
	p := c.erlNode("erl", opts)
	require.Equal(t, true, p.MustCall("net_kernel", "connect_node", gn.Name()))
	waitFor(t, 5*time.Second, "the connection", func() bool { return connected(gn, p.Node()) })

	// restart kills a connected peer and starts the same node name again: a new incarnation,
	// with a creation of its own and a new listen port registered with EPMD.
	opts.Name = string(p.Node())
	opts.Cookie = c.cookie
	opts.EPMDPort = int(c.epmdPort)
	opts.NoStartEPMD = true
	restart := func(old *erlpeer.Peer) *erlpeer.Peer {
		t.Helper()
		// kill -9 closes the socket at once; the link must go down well within the tick time.
		killed := time.Now()
		require.NoError(t, old.Kill())
		waitFor(t, tick*time.Second+2*time.Second, "the Go node to see the peer down", func() bool {
			return !connected(gn, old.Node())
		})
		t.Logf("peer down noticed after %s", time.Since(killed))
		return erlpeer.Start(t, opts)
	}

	// The node comes back and dials the Go node; the link carries messages.
	p2 := restart(p)
	_, err := p2.EvalWith(`{inbox, Go} ! back, ok.`, map[string]etf.Term{"Go": gn.Name()})
	require.NoError(t, err)
	require.Equal(t, etf.Atom("back"), receive(t, out, 10*time.Second))
	require.True(t, connected(gn, p2.Node()))

	// It comes back once more, and this time the Go node dials it, at the port the new
	// incarnation registered. The first message goes to a pid of the incarnation before: the
	// process that now has that pid's number must not get it, since BEAM drops a message for a
	// pid whose creation is not its own. Messages from one sender arrive in order, so had it
	// been delivered it would come before the one sent to the registered name after it.
	oldBox, err := p2.Mailbox("box")
	require.NoError(t, err)
	p3 := restart(p2)
	newBox, err := p3.Mailbox("box")
	require.NoError(t, err)
	require.NotEqual(t, oldBox.Creation, newBox.Creation, "the restarted node kept its creation")
	stale := newBox
	stale.Creation = oldBox.Creation
	require.NoError(t, gn.Send(stale, etf.Atom("to_the_old_incarnation")))
	require.NoError(t, gn.Send(gen.ProcessID{Name: "box", Node: p3.Node()}, etf.Atom("to_the_new_incarnation")))
	got, err := p3.Recv(10 * time.Second)
	require.NoError(t, err)
	require.Equal(t, etf.Tuple{etf.Atom("box"), etf.Atom("to_the_new_incarnation")}, got)
	require.True(t, connected(gn, p3.Node()))
}

func TestDistThreeNodesOnEmbeddedEPMD(t *testing.T) {
	c := newCluster(t)
	gn := c.goNode("go", node.Options{Visible: true})
	a := c.erlNode("a", erlpeer.Options{})
	b := c.erlNode("b", erlpeer.Options{})

	// The Go node's EPMD lists the three nodes, each at the port its listener has bound (read
	// from the listener, not from EPMD).
	acceptors, err := gn.Network().Acceptors()
	require.NoError(t, err)
	require.Len(t, acceptors, 1)
	_, port, err := net.SplitHostPort(acceptors[0].Info().Interface)
	require.NoError(t, err)
	goPort, err := strconv.Atoi(port)
	require.NoError(t, err)
	entry := func(name gen.Atom, at etf.Term) etf.Tuple {
		alive, _, _ := strings.Cut(string(name), "@")
		return etf.Tuple{[]byte(alive), at}
	}
	want := etf.List{
		entry(gn.Name(), int64(goPort)),
		entry(a.Node(), a.MustCall("gobeam_dist", "listen_port")),
		entry(b.Node(), b.MustCall("gobeam_dist", "listen_port")),
	}
	names := a.MustEval(`{ok, Names} = net_adm:names(), [{list_to_binary(N), P} || {N, P} <- Names].`)
	require.ElementsMatch(t, want, names)

	// Both erl nodes find each other and the Go node through it.
	require.Equal(t, true, a.MustCall("net_kernel", "connect_node", b.Node()))
	require.Equal(t, true, a.MustCall("net_kernel", "connect_node", gn.Name()))
	require.Equal(t, true, b.MustCall("net_kernel", "connect_node", gn.Name()))
	waitFor(t, 5*time.Second, "both connections", func() bool {
		return connected(gn, a.Node()) && connected(gn, b.Node())
	})
	nodes := a.MustEval(`lists:sort(nodes())`).(etf.List)
	require.ElementsMatch(t, etf.List{b.Node(), gn.Name()}, nodes)
}

func TestDistFrozenPeerIsDeclaredDownAfterTickTime(t *testing.T) {
	const tick = 4
	c := newCluster(t)
	gn := c.goNode("go", node.Options{TickTime: tick * time.Second})
	p := c.erlNode("erl", erlpeer.Options{NetTickTime: tick})
	require.Equal(t, true, p.MustCall("net_kernel", "connect_node", gn.Name()))
	waitFor(t, 5*time.Second, "the connection", func() bool { return connected(gn, p.Node()) })

	// SIGSTOP keeps the socket open but silences the peer: only the tick timeout can tell.
	require.NoError(t, syscall.Kill(-p.OSPid(), syscall.SIGSTOP))
	t.Cleanup(func() { syscall.Kill(-p.OSPid(), syscall.SIGCONT) })
	frozen := time.Now()
	waitFor(t, 2*tick*time.Second, "the Go node to declare the frozen peer down", func() bool {
		return !connected(gn, p.Node())
	})
	took := time.Since(frozen)
	t.Logf("frozen peer declared down after %s (net_ticktime %ds)", took, tick)
	require.GreaterOrEqual(t, took, tick*time.Second*3/4, "down before the tick time could have passed")
	require.LessOrEqual(t, took, tick*time.Second+tick*time.Second/2)
}

// badPeer is the node a raw test socket claims to be in its handshake.
type badPeer gen.Atom

func (p badPeer) Name() gen.Atom     { return gen.Atom(p) }
func (badPeer) Creation() int64      { return 4242 }
func (badPeer) Version() gen.Version { return gen.Version{Name: "bad-peer"} }

// A peer that sends garbage, in place of a handshake or as a DIST packet after a good one,
// loses its own connection and nothing else: the Go node stays up, and a real erl node's link
// to it keeps carrying messages.
func TestDistBadPeerLosesOnlyItsOwnConnection(t *testing.T) {
	c := newCluster(t)
	gn := c.goNode("go", node.Options{})
	_, out := spawnInbox(t, gn, "inbox", 16)
	p := c.erlNode("erl", erlpeer.Options{})
	dest := etf.Tuple{etf.Atom("inbox"), gn.Name()}
	deliver := func(tag string) {
		require.Equal(t, etf.Atom("ok"), p.MustCall("gobeam_dist", "send_seq", dest, etf.Atom(tag), 1))
		require.Equal(t, etf.Tuple{etf.Atom("seq"), etf.Atom(tag), int64(1)}, receive(t, out, 10*time.Second))
	}
	deliver("before")

	name, host, _ := strings.Cut(string(gn.Name()), "@")
	info, _, err := (&epmd.Client{Port: c.epmdPort}).Lookup(context.Background(), host, name)
	require.NoError(t, err)
	addr := net.JoinHostPort(host, strconv.Itoa(int(info.Port)))
	closedByGo := func(conn net.Conn) {
		t.Helper()
		conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		buf := make([]byte, 4096)
		for {
			if _, err := conn.Read(buf); err != nil {
				var ne net.Error
				require.False(t, errors.As(err, &ne) && ne.Timeout(), "the Go node kept the bad connection open")
				return
			}
		}
	}

	// Garbage where the handshake's name should be.
	junk, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer junk.Close()
	_, err = junk.Write([]byte{0, 5, 'x', 0xff, 0xfe, 0, 1, 2, 3})
	require.NoError(t, err)
	closedByGo(junk)

	// A good handshake, then a distribution packet whose term is cut short.
	bad, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer bad.Close()
	_, err = handshake.New(handshake.Options{Hidden: true}).Start(badPeer("bad_peer@127.0.0.1"), bad, gen.HandshakeOptions{Cookie: c.cookie})
	require.NoError(t, err)
	packet := []byte{131, 68, 0, 104, 2, 97} // a 2-tuple holding half a small integer
	_, err = bad.Write(append(binary.BigEndian.AppendUint32(nil, uint32(len(packet))), packet...))
	require.NoError(t, err)
	closedByGo(bad)
	deliver("after")

	// A good handshake, then the head of a fragmented message that announces 3.75 GB in each
	// of 2^40 fragments, and nothing after it. Setting that memory aside would abort the node
	// (the runtime's "out of memory" cannot be recovered); the node waits for the bytes with
	// at most its per-connection reserve set aside, and everything else goes on.
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	huge, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer huge.Close()
	_, err = handshake.New(handshake.Options{Hidden: true}).Start(badPeer("huge_peer@127.0.0.1"), huge, gen.HandshakeOptions{Cookie: c.cookie})
	require.NoError(t, err)
	head := binary.BigEndian.AppendUint32(nil, 0xF000_0000)
	head = append(head, 131, 'E')                     // the first fragment's header
	head = binary.BigEndian.AppendUint64(head, 1)     // sequence id
	head = binary.BigEndian.AppendUint64(head, 1<<40) // fragment id: as many fragments
	head = append(head, 0)                            // no atom cache references
	_, err = huge.Write(head)
	require.NoError(t, err)
	require.Eventually(t, func() bool { // the node has read the announced length
		rn, err := gn.Network().Node("huge_peer@127.0.0.1")
		return err == nil && rn.Info().BytesIn >= 0xF000_0000
	}, 10*time.Second, 10*time.Millisecond)
	deliver("while a huge message is announced")
	runtime.ReadMemStats(&after)
	require.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(256<<20), "allocated for bytes never sent")
	require.True(t, connected(gn, p.Node()))
}

// Links that come and go leave nothing behind on the Go node: after a hundred connections, half
// dialled by erl and half by Go, dropped by either side in turn, its goroutines and live heap
// are back where they were.
func TestDistReconnectsLeaveNothingBehind(t *testing.T) {
	c := newCluster(t)
	gn := c.goNode("go", node.Options{})
	_, out := spawnInbox(t, gn, "inbox", 16)
	p := c.erlNode("erl", erlpeer.Options{})
	_, err := p.Mailbox("box")
	require.NoError(t, err)

	cycle := func(i int) {
		if i%2 == 0 { // erl dials: a send to the Go node's name
			require.NoError(t, p.Send(etf.Tuple{etf.Atom("inbox"), gn.Name()}, int64(i)))
			require.Equal(t, int64(i), receive(t, out, 10*time.Second))
		} else { // Go dials: a send to the erl mailbox
			require.NoError(t, gn.Send(gen.ProcessID{Name: "box", Node: p.Node()}, int64(i)))
			m, err := p.Recv(10 * time.Second)
			require.NoError(t, err)
			require.Equal(t, etf.Tuple{etf.Atom("box"), int64(i)}, m)
		}
		if i%4 < 2 {
			require.Equal(t, true, p.MustCall("erlang", "disconnect_node", gn.Name()))
		} else {
			remote, err := gn.Network().Node(p.Node())
			require.NoError(t, err)
			remote.Disconnect()
		}
		waitFor(t, 10*time.Second, "the link to go down", func() bool { return !connected(gn, p.Node()) })
	}

	// A few rounds first, so that pools, caches and Ergo's lazily started parts are in place.
	for i := 0; i < 8; i++ {
		cycle(i)
	}
	goroutines, heap := settled(t)
	const rounds = 100
	for i := 8; i < 8+rounds; i++ {
		cycle(i)
	}
	goroutinesAfter, heapAfter := settled(t)
	t.Logf("goroutines %d -> %d, live heap %d -> %d KB over %d connections",
		goroutines, goroutinesAfter, heap>>10, heapAfter>>10, rounds)
	// A goroutine left per connection would be 100 more; a few can differ with Ergo's timers.
	require.LessOrEqual(t, goroutinesAfter, goroutines+5, "goroutines left behind by %d connections", rounds)
	// A connection's buffers alone are over 256 KB: one kept per connection would be 25 MB.
	require.Less(t, heapAfter, heap+4<<20, "live heap grew by %d KB over %d connections", (int64(heapAfter)-int64(heap))>>10, rounds)
}

// settled returns the goroutine count once it has held still for a moment, and the live heap
// after a collection.
func settled(t *testing.T) (goroutines int, heap uint64) {
	t.Helper()
	last, still := runtime.NumGoroutine(), 0
	for deadline := time.Now().Add(10 * time.Second); still < 10 && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
		if n := runtime.NumGoroutine(); n != last {
			last, still = n, 0
			continue
		}
		still++
	}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return last, ms.HeapAlloc
}

// Thousands of distinct atoms through the distribution atom cache, both ways, against a real
// BEAM node: entries replaced, atoms sharing a slot within one message, Unicode atoms, atoms
// too long for the cache (written inline) and the empty atom. erl checks each message against
// the one it builds itself from the same pool and seed, which no Go code encoded, so that a Go
// encoder and decoder that err alike cannot hide each other; and echoes it, and what comes back
// must be what went, in order.
func TestDistAtomCacheThroughManyAtoms(t *testing.T) {
	const messages = 3000
	// Room for every echo, so that the inbox never blocks when erl's verdict ends the test
	// before the echoes are read: a blocked inbox would keep the node from stopping.
	gn, pid, out, p := echoPeers(t, messages+16)
	const seed = 0x9e3779b97f4a7c15
	checker, err := p.EvalWith(`gobeam_dist:start_checked_echo(checked_echo, gobeam_dist:atom_messages(Seed, N)).`,
		map[string]etf.Term{"Seed": uint64(seed), "N": messages})
	require.NoError(t, err)

	// gobeam_dist:atom_messages/2 builds the same pool and draws the same atoms from it.
	pool := []etf.Atom{""}
	for i := 0; len(pool) < 6000; i++ {
		pool = append(pool,
			etf.Atom("a"+strconv.Itoa(i)),
			etf.Atom("ätöm_"+strconv.Itoa(i)+"_日本"),
			etf.Atom("L"+strconv.Itoa(i)+"_"+strings.Repeat("x", 200+i%50)), // up to 255 bytes
		)
		if i%10 == 0 {
			pool = append(pool, etf.Atom(strings.Repeat("日", 90)+strconv.Itoa(i))) // 270+ bytes: inline
		}
	}
	rng := uint64(seed)
	next := func(n int) int { // xorshift, as gobeam_dist:atom_messages/2 steps it
		rng ^= rng << 13
		rng ^= rng >> 7
		rng ^= rng << 17
		return int(rng % uint64(n))
	}
	sent := make([]etf.Tuple, messages)
	echo := gen.ProcessID{Name: "checked_echo", Node: p.Node()}
	for i := range sent {
		atoms := make(etf.List, 1+next(8))
		for k := range atoms {
			atoms[k] = pool[next(len(pool))]
		}
		sent[i] = etf.Tuple{int64(i), atoms}
		require.NoError(t, gn.Send(echo, etf.Tuple{pid, sent[i]}))
	}
	require.Equal(t, etf.Atom("ok"), p.MustCall("gobeam_dist", "await_collector", checker, 30_000))
	for i := range sent {
		got := receive(t, out, 10*time.Second)
		require.Equal(t, etf.Tuple{etf.Atom("echo"), sent[i]}, got, "message %d", i)
	}
}
