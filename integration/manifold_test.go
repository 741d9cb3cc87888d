package integration

import (
	"embed"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"ergo.services/ergo/act"
	"ergo.services/ergo/gen"
	"github.com/stretchr/testify/require"

	"github.com/gobeam/gobeam/etf"
	"github.com/gobeam/gobeam/integration/erlpeer"
	"github.com/gobeam/gobeam/manifold"
	"github.com/gobeam/gobeam/node"
)

// Manifold between Go and Elixir, against real Elixir nodes running this project's Elixir
// implementation of Manifold's wire behaviour (integration/ex/gobeam_manifold.ex): Manifold's
// own test list with the Go node as the remote node.

//go:embed ex/*.ex
var exSources embed.FS

const manyPids = 10_001

// elixirNode starts an Elixir peer with GobeamManifold loaded and started.
func (c *cluster) elixirNode(prefix string, partitioners, shape int) *erlpeer.Peer {
	c.t.Helper()
	p := c.erlNode(prefix, erlpeer.Options{Elixir: true})
	p.MustLoadFS(exSources, "ex/*.ex")
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

func spawnSender(t *testing.T, n gen.Node) gen.PID {
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
