package integration

import (
	"context"
	"fmt"
	"math"
	"math/rand"
	"slices"
	"strconv"
	"sync"
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
	_, err := p.Eval(fmt.Sprintf(`'Elixir.GobeamManifold':start([{partitioners, %d}, {shape, %d}, {senders, 2}, {stats, true}])`, partitioners, shape))
	require.NoError(c.t, err)
	return p
}

// counter is a Go receiver that counts the messages equal to want, with the other receivers
// that share its counts (tally counts each receiver apart).
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

// tally counts what each of a set of Go receivers got, of each wanted message and of anything
// else: a fan-out that reaches one receiver twice and another never adds up to the same total
// as one that reaches each once.
type tally struct {
	pids   etf.List
	wants  []any
	counts [][]atomic.Int64 // per receiver: one count per wanted message, then the others
	total  atomic.Int64
}

// tallyReceiver is a Go receiver that counts its messages in its row of a tally.
type tallyReceiver struct {
	act.Actor
	tally *tally
	row   []atomic.Int64
}

func (r *tallyReceiver) HandleMessage(from gen.PID, msg any) error {
	i := slices.IndexFunc(r.tally.wants, func(want any) bool { return etf.Equal(msg, want) })
	if i < 0 {
		i = len(r.tally.wants)
	}
	r.row[i].Add(1)
	r.tally.total.Add(1)
	return nil
}

// spawnTally spawns count receivers that count the messages equal to each of wants apart.
func spawnTally(t *testing.T, n gen.Node, count int, wants ...any) *tally {
	tl := &tally{pids: make(etf.List, count), wants: wants, counts: make([][]atomic.Int64, count)}
	for i := range tl.pids {
		row := make([]atomic.Int64, len(wants)+1)
		tl.counts[i] = row
		pid, err := n.Spawn(func() gen.ProcessBehavior { return &tallyReceiver{tally: tl, row: row} }, gen.ProcessOptions{})
		require.NoError(t, err)
		tl.pids[i] = pid
	}
	return tl
}

// got is what receiver i got so far: one count per wanted message, then the others.
func (tl *tally) got(i int) []int64 {
	row := make([]int64, len(tl.counts[i]))
	for k := range row {
		row[k] = tl.counts[i][k].Load()
	}
	return row
}

// settle is how long a tally that reached its expected total is watched for deliveries beyond it.
const settle = 300 * time.Millisecond

// requireCounts waits until the receivers got as many messages in all as expect gives them,
// then a moment more for any beyond that, and requires each receiver i to have got exactly
// expect(i): a count per wanted message, then the others.
func (tl *tally) requireCounts(t *testing.T, timeout time.Duration, expect func(i int) []int64) {
	t.Helper()
	var total int64
	for i := range tl.pids {
		for _, n := range expect(i) {
			total += n
		}
	}
	waitFor(t, timeout, fmt.Sprintf("%d deliveries", total), func() bool { return tl.total.Load() >= total })
	time.Sleep(settle)
	wrong := 0
	for i := range tl.pids {
		if got, want := tl.got(i), expect(i); !slices.Equal(got, want) {
			if wrong < 5 {
				t.Errorf("receiver %d (%v) got %v (of each wanted message, then others), want %v", i, tl.pids[i], got, want)
			}
			wrong++
		}
	}
	if wrong > 0 {
		t.Fatalf("%d of %d receivers got the wrong messages (%d delivered in all, %d expected)", wrong, len(tl.pids), tl.total.Load(), total)
	}
}

// requireEach is requireCounts with the same counts for every receiver: want[k] of wanted
// message k, and nothing else.
func (tl *tally) requireEach(t *testing.T, timeout time.Duration, want ...int64) {
	t.Helper()
	row := append(slices.Clone(want), 0)
	tl.requireCounts(t, timeout, func(int) []int64 { return row })
}

// holdProcess stops the Go process pid inside its handling of a message of the test's own,
// until release is called, so that what is sent to it meanwhile waits in its mailbox. The
// Manifold processes log a message they do not know at debug level, and a node calls its
// loggers in the goroutine of the process that logs: a logger that blocks on that line, about
// this message, holds the process there.
func holdProcess(t *testing.T, n gen.Node, pid gen.PID) (release func()) {
	t.Helper()
	h := &holdLogger{token: holdToken{pid}, held: make(chan struct{}), release: make(chan struct{})}
	level, err := n.LogLevelProcess(pid)
	require.NoError(t, err)
	name := "hold " + pid.String()
	require.NoError(t, n.LoggerAdd(name, h, gen.LogLevelDebug))
	var once sync.Once
	release = func() {
		once.Do(func() {
			close(h.release)
			n.LoggerDelete(name)
			n.SetLogLevelProcess(pid, level) // fails for a process killed meanwhile, which is fine
		})
	}
	t.Cleanup(release) // a held process would hold up the node's stop
	require.NoError(t, n.SetLogLevelProcess(pid, gen.LogLevelDebug))
	require.NoError(t, n.Send(pid, h.token))
	select {
	case <-h.held:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s did not log the message it was sent to hold it", pid)
	}
	return release
}

// holdToken is the message that holds a process; it names the process, so that no other
// process's line about it is taken for the held one's.
type holdToken struct{ pid gen.PID }

type holdLogger struct {
	token         holdToken
	held, release chan struct{}
}

func (h *holdLogger) Log(m gen.MessageLog) {
	if src, ok := m.Source.(gen.MessageLogProcess); !ok || src.PID != h.token.pid {
		return
	}
	for _, arg := range m.Args {
		if tok, ok := arg.(holdToken); ok && tok == h.token {
			close(h.held)
			<-h.release
			return
		}
	}
}

func (h *holdLogger) Terminate() {}

// partitionerStats is one line of GobeamManifold.stats/0: what one Elixir partitioner counted.
func partitionerStats(i, casts, packed, ignored, entries int) etf.Tuple {
	return etf.Tuple{manifold.PartitionerName(i), int64(casts), int64(packed), int64(ignored), int64(entries)}
}

// elixirStats is GobeamManifold.stats/0 as a node of n partitioners would answer it with
// counts only where set says (index: {casts, packed, ignored, entries}).
func elixirStats(n int, set map[int][4]int) etf.List {
	list := make(etf.List, n)
	for i := range list {
		c := set[i]
		list[i] = partitionerStats(i, c[0], c[1], c[2], c[3])
	}
	return list
}

// askStats sends {gobeam_stats, ReplyTo} to an Elixir partitioner from process p, which answers
// with its counts as they are when the message gets there: after every cast p sent it before.
func askStats(p gen.Process, partitioner gen.ProcessID, replyTo gen.PID) error {
	return p.Send(partitioner, etf.Tuple{etf.Atom("gobeam_stats"), replyTo})
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
			recv := spawnTally(t, gn, manyPids, chatMsg)
			before := m.Stats().Deliveries
			_, err := ex.EvalWith(`'Elixir.GobeamManifold':send(Pids, Msg, `+v.opts+`)`, map[string]etf.Term{"Pids": recv.pids, "Msg": chatMsg})
			require.NoError(t, err)
			recv.requireEach(t, 30*time.Second, 1)
			// A worker counts its deliveries after its last send: a moment after they arrive.
			waitFor(t, 5*time.Second, "the deliveries counted", func() bool { return m.Stats().Deliveries-before >= manyPids })
			require.Equal(t, uint64(manyPids), m.Stats().Deliveries-before)
		})
	}
}

// The receivers get the same message whether it was packed or not, and whoever cast it: the
// Elixir partitioner's counts tell a packed cast from a plain one, and when they are asked by
// the sending process right after its Send, whether that process cast it itself or a sender
// did (held meanwhile, so its cast cannot come first).
func TestManifoldGoToElixir(t *testing.T) {
	for _, v := range []struct {
		name              string
		shape             manifold.Shape
		opts              []manifold.Option
		packed, offloaded bool
	}{
		{"shape3", manifold.Shape3, nil, false, false},
		{"shape4", manifold.Shape4, nil, false, false},
		{"pack_binary", manifold.Shape3, []manifold.Option{manifold.PackBinary()}, true, false},
		{"offload", manifold.Shape4, []manifold.Option{manifold.Offload(), manifold.PackBinary()}, true, true},
	} {
		t.Run(v.name, func(t *testing.T) {
			c := newCluster(t)
			gn := c.goNode("go", node.Options{})
			// One partitioner, which is never probed before a cast goes to it, and one sender:
			// the cast leaves from the process that makes it, and the test knows which to hold.
			m, err := manifold.Start(gn, manifold.Config{Partitioners: 1, Senders: 1, Shape: v.shape})
			require.NoError(t, err)
			ex := c.elixirNode("ex", 4, int(v.shape))
			collector := ex.MustEval(`'Elixir.GobeamManifold.Receivers':start_collector(hello)`).(etf.PID)
			pids := ex.MustCall("Elixir.GobeamManifold.Receivers", "spawn_reporters", manyPids, collector)
			// Casts to a node not connected yet wait for the dial and leave from another
			// goroutine, with no order to the sending process's own messages.
			_, err = gn.Network().GetNode(ex.Node())
			require.NoError(t, err)
			release := func() {}
			if v.offloaded {
				sender, err := gn.ProcessPID(manifold.SenderName(0))
				require.NoError(t, err)
				release = holdProcess(t, gn, sender)
			}
			reply, out := spawnInbox(t, gn, "", 1)
			exPart := gen.ProcessID{Name: manifold.PartitionerName(0), Node: ex.Node()}
			s := spawnSender(t, gn)
			errs := make(chan error, 1)
			require.NoError(t, gn.Send(s, senderJob(func(p gen.Process) {
				err := m.Send(p, pids, etf.Atom("hello"), v.opts...)
				if err == nil {
					err = askStats(p, exPart, reply)
				}
				errs <- err
			})))
			require.NoError(t, <-errs)
			direct := partitionerStats(0, 1, btoi(v.packed), 0, manyPids)
			if v.offloaded {
				direct = partitionerStats(0, 0, 0, 0, 0) // the cast waits in the held sender
			}
			require.Equal(t, etf.Tuple{etf.Atom("gobeam_stats"), direct}, receive(t, out, 10*time.Second))
			release()
			res := ex.MustCall("Elixir.GobeamManifold.Receivers", "await", collector, manyPids, 30000)
			require.Equal(t, etf.Tuple{etf.Atom("result"), int64(manyPids), int64(manyPids), int64(0)}, res)
			require.Equal(t, elixirStats(4, map[int][4]int{0: {1, btoi(v.packed), 0, manyPids}}),
				ex.MustCall("Elixir.GobeamManifold", "stats"))
		})
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// A Go Send pinned by key reaches the partitioner that Elixir's Manifold pins the key to, on a
// node that runs all 32, whether the sending process casts or a sender does.
func TestManifoldGoToElixirPartitionerKey(t *testing.T) {
	c := newCluster(t)
	gn := c.goNode("go", node.Options{})
	m, err := manifold.Start(gn, manifold.Config{Partitioners: manifold.MaxPartitioners})
	require.NoError(t, err)
	ex := c.elixirNode("ex", manifold.MaxPartitioners, 3)
	inbox, out := spawnInbox(t, gn, "", 16)
	pid := ex.MustCall("Elixir.GobeamManifold.Receivers", "spawn_echo", inbox).(etf.PID)
	keys := []any{[]byte("hello"), []byte("guild:1180539227473182700"), etf.Atom("Elixir.Chat.Room"),
		etf.Atom("lobby"), int64(1180539227473182760), int64(-7), 2.5, etf.ByteList("voice")}
	s := spawnSender(t, gn)
	pinned := map[gen.Atom]bool{}
	for i, key := range keys {
		want, err := ex.EvalWith(`'Elixir.GobeamManifold':partitioner_for_key(K)`, map[string]etf.Term{"K": key})
		require.NoError(t, err)
		pinned[want.(etf.Atom)] = true
		before := ex.MustCall("Elixir.GobeamManifold", "stats").(etf.List)
		opts := []manifold.Option{manifold.PartitionerKey(key)}
		if i%2 == 1 {
			opts = append(opts, manifold.Offload())
		}
		msg := etf.Tuple{etf.Atom("key"), i}
		errs := make(chan error, 1)
		require.NoError(t, gn.Send(s, senderJob(func(p gen.Process) { errs <- m.Send(p, []gen.PID{pid}, msg, opts...) })))
		require.NoError(t, <-errs)
		require.Equal(t, etf.Tuple{pid, etf.Tuple{etf.Atom("key"), int64(i)}}, receive(t, out, 10*time.Second), "key %#v", key)
		// The cast was counted before its message went to the receiver.
		after := ex.MustCall("Elixir.GobeamManifold", "stats").(etf.List)
		var reached []any
		for j := range after {
			if !etf.Equal(after[j], before[j]) {
				reached = append(reached, after[j].(etf.Tuple)[0])
				require.Equal(t, before[j].(etf.Tuple)[1].(int64)+1, after[j].(etf.Tuple)[1], "casts to %v", after[j].(etf.Tuple)[0])
			}
		}
		require.Equal(t, []any{want}, reached, "partitioners the cast for key %#v reached", key)
	}
	require.Greater(t, len(pinned), 2, "the keys pin too few partitioners to tell them apart: %v", pinned)
	require.Zero(t, m.Stats().Dropped)
}

// A partitioner ignores the cast shape it does not speak, as Manifold's do: the casts arrive,
// the partitioner counts each one it ignored, and no receiver gets anything.
func TestManifoldShapesAreNotInterchangeable(t *testing.T) {
	for _, v := range []struct {
		name    string
		goShape manifold.Shape
		exShape int
	}{{"shape3_to_shape4", manifold.Shape3, 4}, {"shape4_to_shape3", manifold.Shape4, 3}} {
		t.Run(v.name, func(t *testing.T) {
			c := newCluster(t)
			gn := c.goNode("go", node.Options{})
			m, err := manifold.Start(gn, manifold.Config{Partitioners: 1, Shape: v.goShape})
			require.NoError(t, err)
			ex := c.elixirNode("ex", 1, v.exShape)
			collector := ex.MustEval(`'Elixir.GobeamManifold.Receivers':start_collector(hello)`).(etf.PID)
			pids := ex.MustCall("Elixir.GobeamManifold.Receivers", "spawn_reporters", 10, collector)
			const casts = 3
			s := spawnSender(t, gn)
			errs := make(chan error, casts)
			require.NoError(t, gn.Send(s, senderJob(func(p gen.Process) {
				for i := 0; i < casts; i++ {
					errs <- m.Send(p, pids, etf.Atom("hello"))
				}
			})))
			for i := 0; i < casts; i++ {
				require.NoError(t, <-errs)
			}
			waitFor(t, 10*time.Second, "the casts to be ignored", func() bool {
				return ex.MustCall("Elixir.GobeamManifold", "stats").(etf.List)[0].(etf.Tuple)[3].(int64) >= casts
			})
			res := ex.MustCall("Elixir.GobeamManifold.Receivers", "await", collector, 1, settle.Milliseconds())
			require.Equal(t, etf.Tuple{etf.Atom("result"), int64(0), int64(0), int64(0)}, res)
			require.Equal(t, elixirStats(1, map[int][4]int{0: {0, 0, casts, 0}}), ex.MustCall("Elixir.GobeamManifold", "stats"))
		})
	}
}

// Manifold's linearization test, both ways: one sender, messages 0..1000, even ones to pid0
// alone and odd ones to pid0 and two others, direct and offloaded; pid0 echoes every message
// back, and they must come back in order.
func TestManifoldLinearization(t *testing.T) {
	c := newCluster(t)
	gn := c.goNode("go", node.Options{})
	m, err := manifold.Start(gn, manifold.Config{Partitioners: 2, Senders: 1, Shape: manifold.Shape3})
	require.NoError(t, err)
	ex := c.elixirNode("ex", 2, 3)

	t.Run("go_to_elixir", func(t *testing.T) {
		// One sending process for both rounds: the direct round has its partitioner probed, so
		// that in the offloaded round a cast the process made itself would leave from it at
		// once, ahead of its question for the counts (askStats). The offloaded round holds the
		// sender until the process has asked: had the process cast itself, the counts would
		// have grown.
		s := spawnSender(t, gn)
		sender, err := gn.ProcessPID(manifold.SenderName(0))
		require.NoError(t, err)
		for _, offload := range []bool{false, true} {
			inbox, out := spawnInbox(t, gn, "", 2000)
			pid0 := ex.MustCall("Elixir.GobeamManifold.Receivers", "spawn_echo", inbox).(etf.PID)
			p1 := ex.MustCall("Elixir.GobeamManifold.Receivers", "spawn_noop").(etf.PID)
			p2 := ex.MustCall("Elixir.GobeamManifold.Receivers", "spawn_noop").(etf.PID)
			before := castsCounted(ex.MustCall("Elixir.GobeamManifold", "stats").(etf.List))
			var opts []manifold.Option
			release := func() {}
			if offload {
				opts = []manifold.Option{manifold.Offload()}
				release = holdProcess(t, gn, sender)
			}
			reply, replies := spawnInbox(t, gn, "", 2)
			errs := make(chan error, 1)
			require.NoError(t, gn.Send(s, senderJob(func(p gen.Process) {
				for n := 0; n <= 1000; n++ {
					var err error
					if n%2 == 0 {
						err = m.Send(p, pid0, etf.Tuple{etf.Atom("hello"), n}, opts...)
					} else {
						err = m.Send(p, []gen.PID{pid0, p1, p2}, etf.Tuple{etf.Atom("hello"), n}, opts...)
					}
					if err != nil {
						errs <- err
						return
					}
				}
				if offload {
					// Both partitioners: the test does not work out which is the process's.
					for i := 0; i < 2; i++ {
						if err := askStats(p, gen.ProcessID{Name: manifold.PartitionerName(i), Node: ex.Node()}, reply); err != nil {
							errs <- err
							return
						}
					}
				}
				errs <- nil
			})))
			require.NoError(t, <-errs)
			if offload {
				var counted etf.List
				for i := 0; i < 2; i++ {
					counted = append(counted, receive(t, replies, 10*time.Second).(etf.Tuple)[1])
				}
				require.Equal(t, before, castsCounted(counted), "casts that reached Elixir before the sender was let go")
				release()
			}
			for n := 0; n <= 1000; n++ {
				require.Equal(t, etf.Tuple{pid0, etf.Tuple{etf.Atom("hello"), int64(n)}}, receive(t, out, 10*time.Second), "message %d", n)
			}
			require.Equal(t, before+1001, castsCounted(ex.MustCall("Elixir.GobeamManifold", "stats").(etf.List)))
		}
	})

	t.Run("elixir_to_go", func(t *testing.T) {
		for _, opts := range []string{"[]", "[{send_mode, offload}]"} {
			box, err := ex.Mailbox(etf.Atom("lin_" + fmt.Sprint(len(opts))))
			require.NoError(t, err)
			pid0, err := gn.Spawn(func() gen.ProcessBehavior { return &echoTo{to: box} }, gen.ProcessOptions{})
			require.NoError(t, err)
			others := spawnTally(t, gn, 2).pids
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

// castsCounted adds up the casts of lines of GobeamManifold.stats/0.
func castsCounted(stats etf.List) int64 {
	var n int64
	for _, line := range stats {
		n += line.(etf.Tuple)[1].(int64)
	}
	return n
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

// Manifold's "send to nil" and "nil in list" tests with the sending on Go and the receiver on
// Elixir. Go's nil pids (nil, the atom nil, the zero gen.PID) are dropped before the wire, as
// Manifold drops nil: a list of one pid among nils is one cast of that one pid and one
// delivery, and a list of nils is no cast at all. (A nil that reached an Elixir worker would
// fail its send.)
func TestManifoldGoNilPidsToElixir(t *testing.T) {
	c := newCluster(t)
	gn := c.goNode("go", node.Options{})
	m, err := manifold.Start(gn, manifold.Config{Partitioners: 1})
	require.NoError(t, err)
	ex := c.elixirNode("ex", 1, 3)
	inbox, out := spawnInbox(t, gn, "", 16)
	pid := ex.MustCall("Elixir.GobeamManifold.Receivers", "spawn_echo", inbox).(etf.PID)
	nilAtom := etf.Atom("nil")
	sends := []struct {
		pids any
		msg  etf.Atom
	}{
		{[]any{nil, pid, nil}, "three"},
		{[]any{nil}, "hi"},
		{etf.List{nilAtom, pid, nilAtom}, "atoms"},
		{etf.List{nilAtom}, "hi"},
		{[]gen.PID{{}, pid, {}}, "zero"},
		{[]gen.PID{{}}, "hi"},
		{nil, "hi"}, {nilAtom, "hi"}, {gen.PID{}, "hi"},
	}
	s := spawnSender(t, gn)
	errs := make(chan error, len(sends))
	require.NoError(t, gn.Send(s, senderJob(func(p gen.Process) {
		for _, send := range sends {
			errs <- m.Send(p, send.pids, send.msg)
		}
	})))
	for _, send := range sends {
		require.NoError(t, <-errs, "%#v", send.pids)
	}
	// One sending process, one partitioner, one receiver: the deliveries come in order.
	for _, want := range []etf.Atom{"three", "atoms", "zero"} {
		require.Equal(t, etf.Tuple{pid, want}, receive(t, out, 10*time.Second))
	}
	select {
	case extra := <-out:
		t.Fatalf("nil pids led to an extra delivery: %v", extra)
	case <-time.After(settle):
	}
	require.Equal(t, elixirStats(1, map[int][4]int{0: {3, 0, 0, 3}}), ex.MustCall("Elixir.GobeamManifold", "stats"))
	// A nil kept as a pid would have made a send of the lists of nils, and a cast for a node
	// that does not exist, dropped.
	require.Equal(t, 3, int(m.Stats().Sends))
	require.Zero(t, m.Stats().Dropped)
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

// A worker killed mid-stream loses what it held and nothing else, and counts it; the
// partitioner replaces it, the replacement serves the same receivers, and the link stays up.
// The worker is held while the casts come, so that it holds a batch of every one of them when
// it is killed, where left to itself it would have dealt with them long before.
func TestManifoldWorkerCrashMidStream(t *testing.T) {
	c := newCluster(t)
	gn := c.goNode("go", node.Options{})
	const workers = 3
	m, err := manifold.Start(gn, manifold.Config{Workers: workers})
	require.NoError(t, err)
	ex := c.elixirNode("ex", 1, 3) // one partitioner: every cast goes to the Go node's partitioner 0
	const perRound, held, after = 1000, 20, 5
	recv := spawnTally(t, gn, perRound, etf.Atom("tick"), etf.Atom("tock"))
	vars := map[string]etf.Term{"Pids": recv.pids, "W": workers, "Held": held, "After": after}
	part := gen.ProcessID{Name: manifold.PartitionerName(0), Node: gn.Name()}
	children, err := gn.Call(part, etf.Atom("which_children"))
	require.NoError(t, err)
	const slot = 1
	victim := children.(etf.List)[slot].(etf.Tuple)[1].(gen.PID)
	// The receivers the victim serves: the partitioner gives pid P to worker phash2(P, W + 1),
	// as Manifold's does; the BEAM's phash2 says which those are.
	slots, err := ex.EvalWith(`[erlang:phash2(P, W + 1) || P <- Pids]`, vars)
	require.NoError(t, err)
	hashes, ok := slots.(etf.ByteList) // a list of small integers comes as a string
	require.True(t, ok, "phash2 of the pids: %#v", slots)
	require.Len(t, hashes, perRound)
	served := make([]bool, perRound)
	nServed := 0
	for i, w := range hashes {
		if served[i] = w == slot; served[i] {
			nServed++
		}
	}
	require.True(t, nServed > 0 && nServed < perRound, "worker %d serves %d of %d receivers", slot, nServed, perRound)

	release := holdProcess(t, gn, victim)
	_, err = ex.EvalWith(`[ok = 'Elixir.GobeamManifold':send(Pids, tick) || _ <- lists:seq(1, Held)], ok.`, vars)
	require.NoError(t, err)
	waitFor(t, 30*time.Second, "the other workers' deliveries", func() bool {
		for i := range served {
			if !served[i] && recv.got(i)[0] < held {
				return false
			}
		}
		return true
	})
	// The partitioner answers after the cast it was routing when the last of those deliveries
	// was made: by then it has handed the victim its batch of every cast.
	_, err = gn.Call(part, etf.Atom("which_children"))
	require.NoError(t, err)
	info, err := gn.ProcessInfo(victim)
	require.NoError(t, err)
	require.Equal(t, int64(held), info.MailboxQueues.Main, "batches waiting in the victim's mailbox")
	require.NoError(t, gn.Kill(victim))
	release()

	waitFor(t, 10*time.Second, "the replacement worker", func() bool {
		ch, err := gn.Call(part, etf.Atom("which_children"))
		return err == nil && ch.(etf.List)[slot].(etf.Tuple)[1].(gen.PID) != victim
	})
	_, err = ex.EvalWith(`[ok = 'Elixir.GobeamManifold':send(Pids, tock) || _ <- lists:seq(1, After)], ok.`, vars)
	require.NoError(t, err)
	recv.requireCounts(t, 30*time.Second, func(i int) []int64 {
		if served[i] {
			return []int64{0, after, 0}
		}
		return []int64{held, after, 0}
	})
	lost := nServed * held
	t.Logf("killed worker held %d deliveries, to %d of %d receivers", lost, nServed, perRound)
	require.Equal(t, lost, int(m.Stats().Undelivered), "what the worker took with it is counted")
	require.Equal(t, held+after, int(m.Stats().CastsIn))
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
			goRecv := spawnTally(t, gn, n, msg)
			all := append(append(append(etf.List{}, pidsA...), pidsB...), goRecv.pids...)
			switch from {
			case "a", "b":
				p := map[string]*erlpeer.Peer{"a": a, "b": b}[from]
				_, err := p.EvalWith(`'Elixir.GobeamManifold':send(All, M)`, map[string]etf.Term{"All": all, "M": msg})
				require.NoError(t, err)
			case "go":
				s := spawnSender(t, gn)
				errs := make(chan error, 1)
				require.NoError(t, gn.Send(s, senderJob(func(p gen.Process) { errs <- m.Send(p, all, msg) })))
				require.NoError(t, <-errs)
			}
			want := etf.Tuple{etf.Atom("result"), int64(n), int64(n), int64(0)}
			require.Equal(t, want, a.MustCall("Elixir.GobeamManifold.Receivers", "await", colA, n, 20000))
			require.Equal(t, want, b.MustCall("Elixir.GobeamManifold.Receivers", "await", colB, n, 20000))
			goRecv.requireEach(t, 20*time.Second, 1)
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
