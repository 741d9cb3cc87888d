package main

import (
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"ergo.services/ergo/act"
	"ergo.services/ergo/gen"

	"github.com/gobeam/gobeam/etf"
	"github.com/gobeam/gobeam/manifold"
	"github.com/gobeam/gobeam/manifold/elixir"
	"github.com/gobeam/gobeam/node"
	"github.com/gobeam/gobeam/node/epmd"
)

//go:embed demo.exs
var demoScript []byte

// demoInterval is the pause between two fan-out rounds on each side.
const demoInterval = 2 * time.Millisecond

// runDemo starts this node on an EPMD of its own, starts an Elixir node beside it, and has both
// fan a chat message out to the other's receivers the Manifold way, with live counters, then
// prints a summary.
func runDemo(ctx context.Context, c config, log *slog.Logger) error {
	elixirBin, err := exec.LookPath("elixir")
	if err != nil {
		return errors.New("the demo needs Elixir on PATH (scripts/demo installs it)")
	}
	// The demo's own EPMD, on a port it holds from the start: a port picked free and let go
	// could be taken by another listener before a node started an EPMD on it.
	registry, err := epmd.Listen(epmd.ServerOptions{Addr: "127.0.0.1:0"})
	if err != nil {
		return err
	}
	defer registry.Close()
	port := uint16(registry.Addr().(*net.TCPAddr).Port)
	cookie := randomCookie()
	opts := node.Options{Cookie: cookie, EPMDPort: port}
	// The demo's output is its table; Ergo's own log keeps to warnings, on stderr.
	opts.Ergo.Log.Level = gen.LogLevelWarning
	opts.Ergo.Log.DefaultLogger.Output = os.Stderr
	n, err := node.Start("gonode_demo@127.0.0.1", opts)
	if err != nil {
		return err
	}
	defer n.Stop()
	m, err := manifold.Start(n, c.manifoldConfig())
	if err != nil {
		return err
	}

	st := &demoState{m: m, pids: c.demoPids, duration: c.demoDuration, events: make(chan string, 16)}
	if _, err := n.SpawnRegister("demo", func() gen.ProcessBehavior { return &demoDriver{st: st} }, gen.ProcessOptions{}); err != nil {
		return err
	}

	dir, err := os.MkdirTemp("", "manifold-demo")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	exFile := filepath.Join(dir, elixir.ManifoldFile)
	src, err := elixir.Sources.ReadFile(elixir.ManifoldFile)
	if err != nil {
		return err
	}
	if err := os.WriteFile(exFile, src, 0o600); err != nil {
		return err
	}
	script := filepath.Join(dir, "demo.exs")
	if err := os.WriteFile(script, demoScript, 0o600); err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, elixirBin, "--name", "exnode_demo@127.0.0.1", "--cookie", cookie,
		"--erl", "-start_epmd false", script)
	cmd.Env = append(os.Environ(),
		"ERL_EPMD_PORT="+strconv.Itoa(int(port)),
		"GOBEAM_DEMO_EX="+exFile,
		"GOBEAM_DEMO_GO="+string(n.Name()),
		"GOBEAM_DEMO_PIDS="+strconv.Itoa(c.demoPids),
		"GOBEAM_DEMO_INTERVAL_MS="+strconv.Itoa(int(demoInterval/time.Millisecond)),
		// The Elixir node runs as many partitioners as the Go side chooses from, as Manifold
		// requires of every node in a cluster.
		"GOBEAM_DEMO_PARTITIONERS="+strconv.Itoa(m.Config().Partitioners),
	)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	log.Info("demo: starting", "go_node", n.Name(), "elixir_node", "exnode_demo@127.0.0.1",
		"epmd_port", port, "receivers_each_side", c.demoPids, "seconds", c.demoDuration.Seconds())
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	// Live counters until the Elixir side reports its final counts.
	fmt.Printf("%8s  %18s  %18s  %s\n", "elapsed", "Elixir->Go /s", "Go->Elixir /s", "order")
	start := time.Now()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var lastIn, lastOut int64
	// One deadline for the whole run: a timer made in the loop would start again every tick.
	deadline := time.NewTimer(c.demoDuration + 30*time.Second)
	defer deadline.Stop()
	for !st.final.Load() {
		select {
		case <-ctx.Done():
			fmt.Println("interrupted")
			return nil
		case err := <-exited:
			return fmt.Errorf("the Elixir node ended early: %v", err)
		case ev := <-st.events:
			log.Info("demo: " + ev)
		case <-tick.C:
			in, out := st.goDeliveries.Load(), st.elixirDeliveries.Load()
			order := "ok"
			if st.goViolations.Load()+st.elixirViolations.Load() > 0 {
				order = "VIOLATED"
			}
			fmt.Printf("%7.0fs  %18d  %18d  %s\n", time.Since(start).Seconds(), in-lastIn, out-lastOut, order)
			lastIn, lastOut = in, out
		case <-deadline.C:
			return errors.New("the demo did not finish")
		}
	}
	n.Send(st.elixirPID, etf.Atom("stop"))
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
	}
	st.summary(os.Stdout)
	if st.goViolations.Load()+st.elixirViolations.Load() > 0 {
		return errors.New("order checks failed")
	}
	if lost := st.lost(); lost != "" {
		return errors.New(lost)
	}
	return nil
}

// demoState is shared by the demo's processes and the loop that prints counters.
type demoState struct {
	m        *manifold.Manifold
	pids     int
	duration time.Duration
	events   chan string

	elixirPID  gen.PID
	elixirPids etf.List

	goRounds, elixirRounds             atomic.Int64
	goDeliveries, goViolations         atomic.Int64 // at Go receivers: Elixir -> Go
	elixirDeliveries, elixirViolations atomic.Int64 // at Elixir receivers: Go -> Elixir
	final                              atomic.Bool
}

// lost says which direction did not deliver every round to every receiver.
func (s *demoState) lost() string {
	want := func(rounds int64) int64 { return rounds * int64(s.pids) }
	if got, w := s.goDeliveries.Load(), want(s.elixirRounds.Load()); got != w {
		return fmt.Sprintf("Elixir->Go delivered %d of %d", got, w)
	}
	if got, w := s.elixirDeliveries.Load(), want(s.goRounds.Load()); got != w {
		return fmt.Sprintf("Go->Elixir delivered %d of %d", got, w)
	}
	return ""
}

func (s *demoState) summary(w *os.File) {
	secs := s.duration.Seconds()
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w)
	fmt.Fprintln(tw, "direction\trounds\treceivers\tdeliveries\tdeliveries/s\torder\t")
	row := func(dir string, rounds, deliveries, violations int64) {
		order := "passed"
		if violations > 0 {
			order = fmt.Sprintf("%d out of order", violations)
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%.0f\t%s\t\n", dir, rounds, s.pids, deliveries, float64(deliveries)/secs, order)
	}
	row("Elixir->Go", s.elixirRounds.Load(), s.goDeliveries.Load(), s.goViolations.Load())
	row("Go->Elixir", s.goRounds.Load(), s.elixirDeliveries.Load(), s.elixirViolations.Load())
	tw.Flush()
	st := s.m.Stats()
	fmt.Fprintf(w, "\nGo node Manifold counters: casts in %d, deliveries %d, relayed %d, sends %d, dropped %d, undelivered %d\n",
		st.CastsIn, st.Deliveries, st.Relayed, st.Sends, st.Dropped, st.Undelivered)
}

// demoDriver is the Go node's registered 'demo' process: it talks to the Elixir side and runs
// the Go side's fan-out rounds.
type demoDriver struct {
	act.Actor
	st    *demoState
	seq   int
	until time.Time
}

type demoTick struct{}

func (d *demoDriver) HandleMessage(from gen.PID, message any) error {
	st := d.st
	switch msg := message.(type) {
	case demoTick:
		if time.Now().After(d.until) {
			st.events <- fmt.Sprintf("Go side sent %d rounds", d.seq)
			return nil
		}
		payload := chatPayload(d.seq)
		if err := st.m.Send(d, st.elixirPids, etf.Tuple{etf.Atom("chat"), etf.Atom("go"), d.seq, payload}); err != nil {
			return err
		}
		d.seq++
		st.goRounds.Store(int64(d.seq))
		_, err := d.SendAfter(d.PID(), demoTick{}, demoInterval)
		return err
	case etf.Tuple:
		return d.fromElixir(msg)
	}
	return nil
}

func (d *demoDriver) fromElixir(msg etf.Tuple) error {
	st := d.st
	if len(msg) == 0 {
		return nil
	}
	switch msg[0] {
	case etf.Atom("elixir_ready"):
		st.elixirPID, _ = msg[1].(gen.PID)
		st.elixirPids, _ = msg[2].(etf.List)
		goPids := make(etf.List, st.pids)
		for i := range goPids {
			pid, err := d.Spawn(func() gen.ProcessBehavior { return &demoReceiver{st: st} }, gen.ProcessOptions{})
			if err != nil {
				return err
			}
			goPids[i] = pid
		}
		st.events <- fmt.Sprintf("Elixir node ready with %d receivers; Go spawned %d", len(st.elixirPids), len(goPids))
		if err := d.Send(st.elixirPID, etf.Tuple{etf.Atom("go_ready"), goPids, st.duration.Milliseconds()}); err != nil {
			return err
		}
		d.until = time.Now().Add(st.duration)
		return d.Send(d.PID(), demoTick{})
	case etf.Atom("elixir_stats"), etf.Atom("elixir_final"):
		count, _ := msg[1].(int64)
		bad, _ := msg[2].(int64)
		st.elixirDeliveries.Store(count)
		st.elixirViolations.Store(bad)
		if msg[0] == etf.Atom("elixir_final") {
			st.final.Store(true)
		}
	case etf.Atom("elixir_sent"):
		rounds, _ := msg[1].(int64)
		st.elixirRounds.Store(rounds)
		st.events <- fmt.Sprintf("Elixir side sent %d rounds", rounds)
	}
	return nil
}

// demoReceiver counts deliveries and checks that each sender's sequence numbers only grow.
type demoReceiver struct {
	act.Actor
	st   *demoState
	last map[any]int64
}

func (r *demoReceiver) HandleMessage(from gen.PID, message any) error {
	t, ok := message.(etf.Tuple)
	if !ok || len(t) != 4 || t[0] != etf.Atom("chat") {
		return nil
	}
	seq, _ := t[2].(int64)
	if r.last == nil {
		r.last = make(map[any]int64)
	}
	if prev, seen := r.last[t[1]]; seen && seq <= prev {
		r.st.goViolations.Add(1)
	}
	r.last[t[1]] = seq
	r.st.goDeliveries.Add(1)
	return nil
}

// chatPayload is a ~300-byte chat message with binary keys, as a chat service fans out.
func chatPayload(seq int) etf.Map {
	return etf.Map{
		{Key: []byte("id"), Value: []byte(strconv.Itoa(1180539227473182760 + seq))},
		{Key: []byte("channel_id"), Value: []byte("1180539227473182700")},
		{Key: []byte("author"), Value: etf.Map{
			{Key: []byte("id"), Value: []byte("80351110224678912")},
			{Key: []byte("username"), Value: []byte("grace")},
			{Key: []byte("discriminator"), Value: []byte("0")},
		}},
		{Key: []byte("content"), Value: []byte("fanning out from Go to Elixir, message " + strconv.Itoa(seq))},
		{Key: []byte("timestamp"), Value: []byte("2026-11-23T21:00:00.000000+00:00")},
		{Key: []byte("mentions"), Value: etf.List{}},
		{Key: []byte("pinned"), Value: false},
	}
}

func randomCookie() string {
	var b [12]byte
	rand.Read(b[:])
	return "demo-" + hex.EncodeToString(b[:])
}
