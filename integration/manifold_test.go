package integration

import (
	"context"
	"fmt"
	"math"
	"math/rand"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"ergo.services/ergo/act"
	"ergo.services/ergo/gen"
	"github.com/stretchr/testify/require"

	"github.com/gobeam/gobeam/etf"
	"github.com/gobeam/gobeam/integration/erlpeer"
	"github.com/gobeam/gobeam/manifold"
	"github.com/gobeam/gobeam/manifold/elixir"
	"github.com/gobeam/gobeam/node"
)

// Manifold between Go and Elixir, against real Elixir nodes running this project's Elixir
// implementation of Manifold's wire behaviour (manifold/elixir): Manifold's own test list with
// the Go node as the remote node.

const manyPids = 10_001

// elixirNode starts an Elixir peer with GobeamManifold loaded and started.
func (c *cluster) elixirNode(prefix string, partitioners, shape int) *erlpeer.Peer {
	c.t.Helper()
	p := c.erlNode(prefix, erlpeer.Options{Elixir: true})
	p.MustLoadFS(elixir.Sources, "*.ex")
	_, err := p.Eval(fmt.Sprintf(`'Elixir.GobeamManifold':start([{partitioners, %d}, {shape, %d}, {senders, 2}])`, partitioners, shape))
	require.NoError(c.t, err)
	return p
}

// counter is a Go receiver that counts the messages equal to want.
type counter struct {
	act.Actor
	want       any
	right, bad *atomic.Int64
}

func (r *counter) HandleMessage(from gen.PID, msg any) error {
	if etf.Equal(msg, r.want) {
		r.right.Add(1)
	} else {
		r.bad.Add(1)
	}
	return nil
}

func spawnCounters(t *testing.T, n gen.Node, count int, want any) (etf.List, *atomic.Int64, *atomic.Int64) {
	right, bad := &atomic.Int64{}, &atomic.Int64{}
	pids := make(etf.List, count)
	for i := range pids {
		pid, err := n.Spawn(func() gen.ProcessBehavior { return &counter{want: want, right: right, bad: bad} }, gen.ProcessOptions{})
		require.NoError(t, err)
		pids[i] = pid
	}
	return pids, right, bad
}

// sender runs jobs inside a Go process, as Manifold sends on behalf of a process.
type sender struct{ act.Actor }

type senderJob func(gen.Process)

func (s *sender) HandleMessage(from gen.PID, msg any) error {
	if job, ok := msg.(senderJob); ok {
		job(s)
	}
	return nil
}

func spawnSender(t testing.TB, n gen.Node) gen.PID {
	pid, err := n.Spawn(func() gen.ProcessBehavior { return &sender{} }, gen.ProcessOptions{})
	require.NoError(t, err)
	return pid
}

var chatMsg = etf.Map{
	{Key: []byte("id"), Value: []byte("1180539227473182760")},
	{Key: []byte("channel_id"), Value: []byte("1180539227473182700")},
	{Key: []byte("content"), Value: []byte("hello from the other side")},
	{Key: []byte("author"), Value: etf.Map{{Key: []byte("username"), Value: []byte("ada")}}},
}

func TestManifoldElixirToGo(t *testing.T) {
	variants := []struct {
		name  string
		shape int
		opts  string
	}{
		{"shape3", 3, "[]"}, {"shape4", 4, "[]"}, {"pack_binary", 3, "[{pack_mode, binary}]"},
		{"offload", 3, "[{send_mode, offload}]"}, {"offload_shape4_pack", 4, "[{send_mode, offload}, {pack_mode, binary}]"},
	}
	c := newCluster(t)
	gn := c.goNode("go", node.Options{})
	m, err := manifold.Start(gn, manifold.Config{})
	require.NoError(t, err)
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			ex := c.elixirNode("ex", 4, v.shape)
			pids, right, bad := spawnCounters(t, gn, manyPids, chatMsg)
			before := m.Stats().Deliveries
			_, err := ex.EvalWith(`'Elixir.GobeamManifold':send(Pids, Msg, `+v.opts+`)`, map[string]etf.Term{"Pids": pids, "Msg": chatMsg})
			require.NoError(t, err)
			waitFor(t, 30*time.Second, "all deliveries", func() bool { return right.Load()+bad.Load() >= manyPids })
			require.Equal(t, int64(manyPids), right.Load())
			require.Zero(t, bad.Load())
			// A worker counts its deliveries after its last send: a moment after they arrive.
			waitFor(t, 5*time.Second, "the deliveries counted", func() bool { return m.Stats().Deliveries-before >= manyPids })
			require.Equal(t, uint64(manyPids), m.Stats().Deliveries-before)
		})
	}
}

func TestManifoldGoToElixir(t *testing.T) {
	for _, v := range []struct {
		name  string
		shape manifold.Shape
		opts  []manifold.Option
	}{
		{"shape3", manifold.Shape3, nil}, {"shape4", manifold.Shape4, nil},
		{"pack_binary", manifold.Shape3, []manifold.Option{manifold.PackBinary()}},
		{"offload", manifold.Shape4, []manifold.Option{manifold.Offload(), manifold.PackBinary()}},
	} {
		t.Run(v.name, func(t *testing.T) {
			c := newCluster(t)
			gn := c.goNode("go", node.Options{})
			m, err := manifold.Start(gn, manifold.Config{Partitioners: 4, Shape: v.shape})
			require.NoError(t, err)
			ex := c.elixirNode("ex", 4, int(v.shape))
			collector := ex.MustEval(`'Elixir.GobeamManifold.Receivers':start_collector(hello)`).(etf.PID)
			pids := ex.MustCall("Elixir.GobeamManifold.Receivers", "spawn_reporters", manyPids, collector)
			s := spawnSender(t, gn)
			errs := make(chan error, 1)
			require.NoError(t, gn.Send(s, senderJob(func(p gen.Process) { errs <- m.Send(p, pids, etf.Atom("hello"), v.opts...) })))
			require.NoError(t, <-errs)
			res := ex.MustCall("Elixir.GobeamManifold.Receivers", "await", collector, manyPids, 30000)
			require.Equal(t, etf.Tuple{etf.Atom("result"), int64(manyPids), int64(manyPids), int64(0)}, res)
		})
	}
}

// A partitioner ignores the cast shape it does not speak, as Manifold's do: the test can fail.
func TestManifoldShapesAreNotInterchangeable(t *testing.T) {
	c := newCluster(t)
	gn := c.goNode("go", node.Options{})
	m, err := manifold.Start(gn, manifold.Config{Partitioners: 1, Shape: manifold.Shape3})
	require.NoError(t, err)
	ex := c.elixirNode("ex", 1, 4)
	collector := ex.MustEval(`'Elixir.GobeamManifold.Receivers':start_collector(hello)`).(etf.PID)
	pids := ex.MustCall("Elixir.GobeamManifold.Receivers", "spawn_reporters", 10, collector)
	s := spawnSender(t, gn)
	require.NoError(t, gn.Send(s, senderJob(func(p gen.Process) { m.Send(p, pids, etf.Atom("hello")) })))
	res := ex.MustCall("Elixir.GobeamManifold.Receivers", "await", collector, 10, 1500)
	require.Equal(t, etf.Tuple{etf.Atom("result"), int64(0), int64(0), int64(0)}, res)
}

// Manifold's linearization test, both ways: one sender, messages 0..1000, even ones to pid0
// alone and odd ones to pid0 and two others, direct and offloaded; pid0 echoes every message
// back, and they must come back in order.
func TestManifoldLinearization(t *testing.T) {
	c := newCluster(t)
	gn := c.goNode("go", node.Options{})
	m, err := manifold.Start(gn, manifold.Config{Partitioners: 2, Shape: manifold.Shape3})
	require.NoError(t, err)
	ex := c.elixirNode("ex", 2, 3)

	t.Run("go_to_elixir", func(t *testing.T) {
		for _, opts := range [][]manifold.Option{nil, {manifold.Offload()}} {
			inbox, out := spawnInbox(t, gn, "", 2000)
			pid0 := ex.MustCall("Elixir.GobeamManifold.Receivers", "spawn_echo", inbox).(etf.PID)
			p1 := ex.MustCall("Elixir.GobeamManifold.Receivers", "spawn_noop").(etf.PID)
			p2 := ex.MustCall("Elixir.GobeamManifold.Receivers", "spawn_noop").(etf.PID)
			s := spawnSender(t, gn)
			require.NoError(t, gn.Send(s, senderJob(func(p gen.Process) {
				for n := 0; n <= 1000; n++ {
					if n%2 == 0 {
						m.Send(p, pid0, etf.Tuple{etf.Atom("hello"), n}, opts...)
					} else {
						m.Send(p, []gen.PID{pid0, p1, p2}, etf.Tuple{etf.Atom("hello"), n}, opts...)
					}
				}
			})))
			for n := 0; n <= 1000; n++ {
				require.Equal(t, etf.Tuple{pid0, etf.Tuple{etf.Atom("hello"), int64(n)}}, receive(t, out, 10*time.Second), "message %d", n)
			}
		}
	})

	t.Run("elixir_to_go", func(t *testing.T) {
		for _, opts := range []string{"[]", "[{send_mode, offload}]"} {
			box, err := ex.Mailbox(etf.Atom("lin_" + fmt.Sprint(len(opts))))
			require.NoError(t, err)
			pid0, err := gn.Spawn(func() gen.ProcessBehavior { return &echoTo{to: box} }, gen.ProcessOptions{})
			require.NoError(t, err)
			others, _, _ := spawnCounters(t, gn, 2, nil)
			_, err = ex.EvalWith(`[begin
			        Msg = {hello, N},
			        case N rem 2 of
			            0 -> 'Elixir.GobeamManifold':send(P0, Msg, Opts);
			            1 -> 'Elixir.GobeamManifold':send([P0 | Others], Msg, Opts)
			        end
			    end || N <- lists:seq(0, 1000)], ok.`,
				map[string]etf.Term{"P0": pid0, "Others": others, "Opts": mustParseOpts(t, ex, opts)})
			require.NoError(t, err)
			for n := 0; n <= 1000; n++ {
				got, err := ex.Recv(10 * time.Second)
				require.NoError(t, err)
				require.Equal(t, etf.Tuple{pid0, etf.Tuple{etf.Atom("hello"), int64(n)}}, got.(etf.Tuple)[1], "message %d", n)
			}
		}
	})
}

func mustParseOpts(t *testing.T, p *erlpeer.Peer, opts string) etf.Term {
	v, err := p.Eval(opts)
	require.NoError(t, err)
	return v
}

// echoTo sends {Self, Msg} to a BEAM process for every message (Manifold's reply loop).
type echoTo struct {
	act.Actor
	to gen.PID
}

func (e *echoTo) HandleMessage(from gen.PID, msg any) error {
	return e.Send(e.to, etf.Tuple{e.PID(), msg})
}

// Manifold's "send to list of one", "send to one", "send to nil" and "nil in list" tests, with
// the sending on Elixir and the receiver on Go, and key pinning to a partitioner past 0.
func TestManifoldNilsOneAndKeys(t *testing.T) {
	c := newCluster(t)
	gn := c.goNode("go", node.Options{})
	_, err := manifold.Start(gn, manifold.Config{})
	require.NoError(t, err)
	ex := c.elixirNode("ex", 32, 3)
	pid, out := spawnInbox(t, gn, "", 16)
	vars := map[string]etf.Term{"P": pid}
	for _, expr := range []string{
		`'Elixir.GobeamManifold':send([P], one)`,
		`'Elixir.GobeamManifold':send(P, two)`,
		`'Elixir.GobeamManifold':send([nil, P, nil], three)`,
		// "hello" pins partitioner 25 of 32, 'Manifold.Partitioner_25': Go runs all 32.
		`'Elixir.GobeamManifold':set_partitioner_key(<<"hello">>), 'Elixir.GobeamManifold':send([P, P], four)`,
	} {
		_, err := ex.EvalWith(expr, vars)
		require.NoError(t, err, expr)
	}
	require.Equal(t, etf.Atom("ok"), ex.MustEval(`'Elixir.GobeamManifold':send([nil], hi)`))
	require.Equal(t, etf.Atom("ok"), ex.MustEval(`'Elixir.GobeamManifold':send(nil, hi)`))
	// Each expression runs in its own process, a sender of its own: no order between them.
	var got []any
	for i := 0; i < 5; i++ {
		got = append(got, receive(t, out, 10*time.Second))
	}
	require.ElementsMatch(t, []any{etf.Atom("one"), etf.Atom("two"), etf.Atom("three"), etf.Atom("four"), etf.Atom("four")}, got)
	select {
	case extra := <-out:
		t.Fatalf("nil pids led to an extra delivery: %v", extra)
	case <-time.After(300 * time.Millisecond):
	}
	require.Equal(t, etf.Atom("Manifold.Partitioner_25"), ex.MustEval(`'Elixir.GobeamManifold':set_partitioner_key(<<"hello">>), get(manifold_partitioner)`))
}

// Key pinning hashes a key's text, as Elixir's to_string gives it; Go's KeyHash must give
// Elixir's hash for every kind of key, floats the hardest: shortest digits, and scientific
// notation from 2^53 up; lists are their characters' UTF-8.
func TestManifoldKeyHashesMatchElixir(t *testing.T) {
	c := newCluster(t)
	c.goNode("go", node.Options{}) // the cluster's EPMD
	ex := c.elixirNode("ex", 1, 3)
	keys := etf.List{[]byte("hello"), []byte(""), []byte("ünïcode"), etf.Atom("hello"),
		etf.Atom("Elixir.Chat.Room"), etf.Atom("nil"), etf.Atom("true"), int64(0), int64(-42),
		int64(1) << 62, 0.0, 1.5, -2.5e-10, 1.0e15, 1.0e16, 1.0e21, 0.1,
		float64(1<<53 - 1), float64(1 << 53), -float64(1 << 53), 1.2345678901234568e17,
		// Lists: a charlist with a character beyond ASCII, code points beyond a byte, the
		// empty list, and chardata of binaries and nested lists.
		etf.ByteList("abc"), etf.ByteList{233, 'x'}, etf.List{int64(0x1F600), int64('a')}, etf.List(nil),
		etf.List{etf.ByteList("ab"), []byte("ç"), etf.List{int64('d')}}}
	r := rand.New(rand.NewSource(7))
	for i := 0; i < 2000; i++ {
		f := r.Float64() * math.Pow(10, float64(r.Intn(50)-25))
		if i%4 == 0 {
			f = math.Trunc(f * 1e6) // integers, many of them at and past 2^53
		}
		if i%3 == 0 {
			f = -f
		}
		keys = append(keys, f)
	}
	res, err := ex.EvalWith(`[integer_to_binary('Elixir.GobeamManifold':hash(K)) || K <- Keys]`,
		map[string]etf.Term{"Keys": keys})
	require.NoError(t, err)
	got := res.(etf.List)
	require.Len(t, got, len(keys))
	for i, k := range keys {
		h, err := manifold.KeyHash(k)
		require.NoError(t, err, "%v", k)
		require.Equal(t, string(got[i].([]byte)), strconv.FormatUint(h, 10), "key %#v", k)
	}
}

// A worker killed mid-stream loses only what it held, and counts it; the partitioner replaces
// it and keeps serving, and the link stays up.
func TestManifoldWorkerCrashMidStream(t *testing.T) {
	c := newCluster(t)
	gn := c.goNode("go", node.Options{})
	m, err := manifold.Start(gn, manifold.Config{Workers: 3})
	require.NoError(t, err)
	ex := c.elixirNode("ex", 1, 3)
	const perRound, rounds = 1000, 40
	pids, ticks, tocks := spawnCounters(t, gn, perRound, etf.Atom("tick")) // tocks counts the rest
	part := gen.ProcessID{Name: manifold.PartitionerName(0), Node: gn.Name()}
	done := make(chan error, 1)
	go func() {
		_, err := ex.EvalWith(`[begin 'Elixir.GobeamManifold':send(Pids, tick), timer:sleep(5) end || _ <- lists:seq(1, R)], ok.`,
			map[string]etf.Term{"Pids": pids, "R": rounds})
		done <- err
	}()
	waitFor(t, 10*time.Second, "the stream to start", func() bool { return ticks.Load() > 0 })
	children, err := gn.Call(part, etf.Atom("which_children"))
	require.NoError(t, err)
	victim := children.(etf.List)[1].(etf.Tuple)[1].(gen.PID)
	require.NoError(t, gn.Kill(victim))
	require.NoError(t, <-done)

	// The partitioner still serves every worker slot.
	waitFor(t, 10*time.Second, "the replacement worker", func() bool {
		ch, err := gn.Call(part, etf.Atom("which_children"))
		return err == nil && ch.(etf.List)[1].(etf.Tuple)[1].(gen.PID) != victim
	})
	// The last round is another message, counted apart from tick. Each pid is served by one
	// worker slot, in cast order, so when every pid has its tock, every tick that was not lost
	// has arrived too, however slowly the earlier rounds were delivered.
	_, err = ex.EvalWith(`'Elixir.GobeamManifold':send(Pids, tock)`, map[string]etf.Term{"Pids": pids})
	require.NoError(t, err)
	waitFor(t, 30*time.Second, "the last round", func() bool { return tocks.Load() == perRound })
	lost := int64(perRound*rounds) - ticks.Load()
	t.Logf("killed worker held %d of %d deliveries", lost, perRound*rounds)
	require.Less(t, lost, int64(perRound*rounds/2), "far more was lost than one worker of four could hold")
	require.Equal(t, uint64(lost), m.Stats().Undelivered, "what the worker took with it is counted")
	require.Equal(t, uint64(rounds+1), m.Stats().CastsIn)
	require.True(t, connected(gn, ex.Node()))
}

// Two Elixir nodes and the Go node fan out to each other in every direction.
func TestManifoldThreeNodeMix(t *testing.T) {
	c := newCluster(t)
	gn := c.goNode("go", node.Options{})
	m, err := manifold.Start(gn, manifold.Config{Partitioners: 2})
	require.NoError(t, err)
	a := c.elixirNode("a", 2, 3)
	b := c.elixirNode("b", 2, 3)
	const n = 2000
	for _, from := range []string{"a", "b", "go"} {
		msg := etf.Tuple{etf.Atom("from"), etf.Atom(from)}
		t.Run(from, func(t *testing.T) {
			vars := map[string]etf.Term{"M": msg}
			colA, err := a.EvalWith(`'Elixir.GobeamManifold.Receivers':start_collector(M)`, vars)
			require.NoError(t, err)
			colB, err := b.EvalWith(`'Elixir.GobeamManifold.Receivers':start_collector(M)`, vars)
			require.NoError(t, err)
			pidsA := a.MustCall("Elixir.GobeamManifold.Receivers", "spawn_reporters", n, colA).(etf.List)
			pidsB := b.MustCall("Elixir.GobeamManifold.Receivers", "spawn_reporters", n, colB).(etf.List)
			pidsGo, right, bad := spawnCounters(t, gn, n, msg)
			all := append(append(append(etf.List{}, pidsA...), pidsB...), pidsGo...)
			switch from {
			case "a", "b":
				p := map[string]*erlpeer.Peer{"a": a, "b": b}[from]
				_, err := p.EvalWith(`'Elixir.GobeamManifold':send(All, M)`, map[string]etf.Term{"All": all, "M": msg})
				require.NoError(t, err)
			case "go":
				s := spawnSender(t, gn)
				require.NoError(t, gn.Send(s, senderJob(func(p gen.Process) { m.Send(p, all, msg) })))
			}
			want := etf.Tuple{etf.Atom("result"), int64(n), int64(n), int64(0)}
			require.Equal(t, want, a.MustCall("Elixir.GobeamManifold.Receivers", "await", colA, n, 20000))
			require.Equal(t, want, b.MustCall("Elixir.GobeamManifold.Receivers", "await", colB, n, 20000))
			waitFor(t, 20*time.Second, "Go receivers", func() bool { return right.Load() >= n })
			require.Equal(t, int64(n), right.Load())
			require.Zero(t, bad.Load())
		})
	}
}

// A Go node that chooses among more partitioners than an Elixir node runs would lose the casts
// to the names that node lacks (Manifold's default is one partitioner, the Go node's as many
// as GOMAXPROCS). The Go node finds out before the first cast goes (which_children fails with
// noproc), logs it, and sends to partitioner 0: from the very first cast on a new connection,
// every message arrives, in order.
func TestManifoldMissingPartitionerFallsBackToZero(t *testing.T) {
	c := newCluster(t)
	gn := c.goNode("go", node.Options{})
	m, err := manifold.Start(gn, manifold.Config{Partitioners: 32})
	require.NoError(t, err)
	ex := c.elixirNode("ex", 1, 3) // runs only 'Elixir.Manifold.Partitioner'
	inbox, out := spawnInbox(t, gn, "", 1000)
	pid0 := ex.MustCall("Elixir.GobeamManifold.Receivers", "spawn_echo", inbox).(etf.PID)
	others := ex.MustCall("Elixir.GobeamManifold.Receivers", "spawn_reporters", 2,
		ex.MustEval(`'Elixir.GobeamManifold.Receivers':start_collector(hello)`)).(etf.List)
	const casts = 300
	s := spawnSender(t, gn)
	require.NoError(t, gn.Send(s, senderJob(func(p gen.Process) {
		for n := 0; n < casts; n++ {
			// "hello" pins partitioner 25 of 32, which the Elixir node does not run.
			msg := etf.Tuple{etf.Atom("hello"), n}
			if n%2 == 0 {
				m.Send(p, pid0, msg, manifold.PartitionerKey("hello"))
			} else {
				m.Send(p, []gen.PID{pid0, others[0].(gen.PID), others[1].(gen.PID)}, msg, manifold.PartitionerKey("hello"))
			}
		}
	})))
	for n := 0; n < casts; n++ {
		require.Equal(t, etf.Tuple{pid0, etf.Tuple{etf.Atom("hello"), int64(n)}}, receive(t, out, 10*time.Second), "message %d", n)
	}
	require.Zero(t, m.Stats().Dropped)
}

// A Go node standing in for a relay must not lose what it accepted when it stops: Drain lets
// the partitioners relay every cast already queued and the senders carry out every offloaded
// send, and flushes the connections, before Stop closes them.
func TestManifoldDrainDeliversWhatWasAcceptedBeforeStop(t *testing.T) {
	c := newCluster(t)
	gn := c.goNode("go", node.Options{})
	m, err := manifold.Start(gn, manifold.Config{Partitioners: 1, Senders: 1})
	require.NoError(t, err)
	a := c.elixirNode("a", 1, 3)
	b := c.elixirNode("b", 1, 3)
	msg := etf.Tuple{etf.Atom("drained"), []byte("payload")}
	col, err := b.EvalWith(`'Elixir.GobeamManifold.Receivers':start_collector(M)`, map[string]etf.Term{"M": msg})
	require.NoError(t, err)
	const receivers, relayedCasts, offloaded = 100, 3000, 500
	pidsB := b.MustCall("Elixir.GobeamManifold.Receivers", "spawn_reporters", receivers, col).(etf.List)

	// A casts to the Go partitioner with B's pids (the Go node relays them), then pings the Go
	// node: the ping is read after every cast, so when it returns they are all in the Go
	// partitioner's mailbox.
	_, err = a.EvalWith(`[gen_server:cast({'Elixir.Manifold.Partitioner', G}, {send, P, M}) || _ <- lists:seq(1, N)],
		pong = net_adm:ping(G)`, map[string]etf.Term{"G": etf.Atom(gn.Name()), "P": pidsB, "M": msg, "N": relayedCasts})
	require.NoError(t, err)
	// Go code offloads sends to the Go sender.
	done := make(chan struct{})
	require.NoError(t, gn.Send(spawnSender(t, gn), senderJob(func(p gen.Process) {
		defer close(done)
		for i := 0; i < offloaded; i++ {
			require.NoError(t, m.Send(p, pidsB, msg, manifold.Offload()))
		}
	})))
	<-done

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, m.Drain(ctx))
	require.NoError(t, m.Stop())
	gn.Stop()

	want := (relayedCasts + offloaded) * receivers
	require.Equal(t, etf.Tuple{etf.Atom("result"), int64(want), int64(receivers), int64(0)},
		b.MustCall("Elixir.GobeamManifold.Receivers", "await", col, want, 30000))
}
