package erlpeer

import (
	"bufio"
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gobeam/gobeam/etf"
)

// Defaults for Options.
const (
	DefaultStartTimeout = 60 * time.Second
	DefaultCallTimeout  = 60 * time.Second
	// DefaultCookie is the cookie of a distributed peer whose Options leave Cookie empty.
	DefaultCookie = "gobeam"
	// stopGrace is how long a stopping peer may take to halt before it is killed.
	stopGrace = 10 * time.Second
	// outputGrace is how long the output pipes may stay open after the peer has exited.
	outputGrace = 2 * time.Second
)

// ErrPeerDown is wrapped by the errors of calls on a peer that has exited, was stopped or
// killed, or lost its connection to the test.
var ErrPeerDown = errors.New("erlpeer: peer is down")

//go:embed erl/gobeam_peer.erl
var runtimeSource []byte

// Options say how to start a peer. The zero Options start a plain (not distributed) erl of the
// release the environment selects.
type Options struct {
	// Release is the erl to run; its zero value means RequireRelease's choice.
	Release Release

	// Name makes the peer a distributed node. Without an "@" the host 127.0.0.1 is added
	// (or, with ShortNames, erl picks the host). UniqueName makes names that concurrent tests
	// and test binaries do not share.
	Name string
	// ShortNames starts the node with -sname instead of -name.
	ShortNames bool
	// Cookie is the distribution cookie (-setcookie); DefaultCookie when Name is set and
	// Cookie is empty.
	Cookie string
	// ProtoDist selects the distribution carrier (-proto_dist), e.g. "inet_tcp" or "inet6_tcp".
	ProtoDist string
	// NetTickTime sets -kernel net_ticktime (seconds); 0 leaves erl's default (60).
	NetTickTime int
	// EPMDPort is the port of the EPMD the node registers with and asks for other nodes
	// (ERL_EPMD_PORT); 0 leaves erl's default, 4369.
	EPMDPort int
	// NoStartEPMD passes -start_epmd false: the node starts no epmd of its own and expects one
	// (a Go EPMD, say) to listen on EPMDPort already.
	NoStartEPMD bool
	// Hidden starts a hidden node (-hidden).
	Hidden bool

	// Elixir makes the peer an Elixir node: Elixir's libraries join the code path and the elixir
	// application is started, as `elixir --name ...` does, so .ex sources load and Elixir
	// modules can be called.
	Elixir bool

	// Args are further arguments for erl, placed before the bootstrap's -eval.
	Args []string
	// Env are further environment variables ("KEY=value") for erl.
	Env []string

	// StartTimeout bounds the time from running erl to the peer's first answer;
	// DefaultStartTimeout if 0.
	StartTimeout time.Duration
	// CallTimeout bounds each Call, Eval and Load; DefaultCallTimeout if 0.
	CallTimeout time.Duration
}

// Peer is a running erl that the test talks to. Its methods may be called from any goroutine,
// except the Must ones, which end the test on failure and so belong to the test's goroutine.
type Peer struct {
	t       testing.TB
	opts    Options
	release Release
	label   string
	node    etf.Atom
	cookie  string
	otp     string
	erts    string
	osPid   int

	cmd    *exec.Cmd
	output *outputLog

	exited  chan struct{} // closed when the OS process has been reaped
	exitErr error         // cmd.Wait's result; read after exited is closed
	// stopReason is set by Stop and Kill ("stopped", "killed"): the end is not a failure.
	stopReason atomic.Pointer[string]

	conn    net.Conn
	reader  *bufio.Reader // the only reader of conn
	writeMu sync.Mutex

	nextID  atomic.Int64
	mu      sync.Mutex
	pending map[int64]chan callResult
	lost    chan struct{} // closed when the connection has ended
	lostErr error         // why; read after lost is closed

	events eventQueue
}

var peerCount atomic.Int64

// UniqueName returns prefix followed by this process's id and a counter: a node name that no
// other peer of this test binary, nor of a test binary running beside it, uses.
func UniqueName(prefix string) string {
	return fmt.Sprintf("%s_%d_%d", prefix, os.Getpid(), peerCount.Add(1))
}

// Start runs a peer and returns it once it answers; the peer stops when the test ends. When the
// environment selects no erl and none is installed, Start skips the test; any other failure ends
// the test.
func Start(t testing.TB, opts Options) *Peer {
	t.Helper()
	if len(opts.Release.Command) == 0 {
		opts.Release = RequireRelease(t)
	}
	p, err := start(t, opts)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func start(t testing.TB, opts Options) (*Peer, error) {
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = DefaultStartTimeout
	}
	if opts.CallTimeout <= 0 {
		opts.CallTimeout = DefaultCallTimeout
	}
	p := &Peer{
		t:       t,
		opts:    opts,
		release: opts.Release,
		exited:  make(chan struct{}),
		lost:    make(chan struct{}),
		pending: make(map[int64]chan callResult),
	}
	p.events.init()
	if opts.Name != "" {
		p.cookie = opts.Cookie
		if p.cookie == "" {
			p.cookie = DefaultCookie
		}
		p.label = opts.Name
	} else {
		p.label = "erl#" + strconv.FormatInt(peerCount.Add(1), 10)
	}
	p.output = newOutputLog(t, p.label)

	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("erlpeer: listening for the peer: %w", err)
	}
	defer ln.Close()
	token, err := randomToken()
	if err != nil {
		return nil, err
	}
	if err := p.run(ln.Addr().(*net.TCPAddr).Port, token); err != nil {
		return nil, err
	}
	t.Cleanup(p.cleanup)

	if err := p.connect(ln, token); err != nil {
		return nil, err
	}
	go p.readLoop()

	if opts.Elixir {
		if _, err := p.Call("gobeam_peer", "start_elixir"); err != nil {
			return nil, fmt.Errorf("erlpeer: %s: starting Elixir: %w", p.label, err)
		}
	}
	return p, nil
}

// erlArgs are the arguments after the erl command.
func (p *Peer) erlArgs(port int, token string) []string {
	o := p.opts
	args := []string{"-noshell", "-noinput"}
	if o.Name != "" {
		name := o.Name
		flag := "-name"
		if o.ShortNames {
			flag = "-sname"
		} else if !strings.Contains(name, "@") {
			name += "@127.0.0.1"
		}
		args = append(args, flag, name, "-setcookie", p.cookie)
	}
	if o.ProtoDist != "" {
		args = append(args, "-proto_dist", o.ProtoDist)
	}
	if o.NetTickTime > 0 {
		args = append(args, "-kernel", "net_ticktime", strconv.Itoa(o.NetTickTime))
	}
	if o.NoStartEPMD {
		args = append(args, "-start_epmd", "false")
	}
	if o.Hidden {
		args = append(args, "-hidden")
	}
	args = append(args, o.Args...)
	return append(args, "-eval", bootstrap(port, token))
}

// bootstrap is the -eval expression that connects back to the test, proves itself with the
// token, and compiles and runs the peer runtime the test sends. It runs in a process of its own
// so that erl's boot completes whatever the runtime does.
func bootstrap(port int, token string) string {
	return `spawn(fun() ->
  try
    {ok, S} = gen_tcp:connect({127,0,0,1}, ` + strconv.Itoa(port) + `,
                              [binary, {packet, 4}, {active, false}, {nodelay, true}], 30000),
    ok = gen_tcp:send(S, <<"` + token + `">>),
    {ok, Src} = gen_tcp:recv(S, 0, 60000),
    {ok, Tokens, _} = erl_scan:string(unicode:characters_to_list(Src)),
    Forms = fun Split([], [], Acc) -> lists:reverse(Acc);
                Split([{dot, _} = Dot | T], Cur, Acc) ->
                  {ok, Form} = erl_parse:parse_form(lists:reverse([Dot | Cur])),
                  Split(T, [], [Form | Acc]);
                Split([Tok | T], Cur, Acc) -> Split(T, [Tok | Cur], Acc)
            end,
    {ok, Mod, Bin} = compile:forms(Forms(Tokens, [], []), [binary, return_errors]),
    {module, Mod} = code:load_binary(Mod, "gobeam_peer.erl", Bin),
    Mod:serve(S)
  catch Class:Reason:Stack ->
    io:format(standard_error, "gobeam_peer bootstrap failed: ~p:~p~n~p~n", [Class, Reason, Stack]),
    erlang:halt(2)
  end
end).`
}

// run starts the erl process with its output going to the test log.
func (p *Peer) run(port int, token string) error {
	argv := append(append([]string{}, p.release.Command...), p.erlArgs(port, token)...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = os.Environ()
	if p.opts.EPMDPort != 0 {
		cmd.Env = append(cmd.Env, "ERL_EPMD_PORT="+strconv.Itoa(p.opts.EPMDPort))
	}
	cmd.Env = append(cmd.Env, p.opts.Env...)
	cmd.SysProcAttr = sysProcAttr()

	outR, outW, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("erlpeer: %w", err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return fmt.Errorf("erlpeer: %w", err)
	}
	cmd.Stdout, cmd.Stderr = outW, errW
	err = cmd.Start()
	outW.Close()
	errW.Close()
	if err != nil {
		outR.Close()
		errR.Close()
		return fmt.Errorf("erlpeer: running %s: %w", p.release, err)
	}
	p.cmd = cmd
	p.output.follow(outR, "stdout")
	p.output.follow(errR, "stderr")
	go func() {
		p.exitErr = cmd.Wait()
		close(p.exited)
	}()
	return nil
}

// connect accepts the peer's connection, checks its token, sends the runtime and reads the
// runtime's hello.
func (p *Peer) connect(ln net.Listener, token string) error {
	deadline := time.Now().Add(p.opts.StartTimeout)
	type accepted struct {
		conn net.Conn
		r    *bufio.Reader
		err  error
	}
	ch := make(chan accepted, 1)
	go func() {
		for {
			ln.(*net.TCPListener).SetDeadline(deadline)
			c, err := ln.Accept()
			if err != nil {
				ch <- accepted{err: err}
				return
			}
			c.SetDeadline(deadline)
			r := bufio.NewReaderSize(c, 64<<10)
			got, err := readPacket(r)
			if err == nil && string(got) == token {
				ch <- accepted{conn: c, r: r}
				return
			}
			// Not our peer: some other process found the port. Keep waiting.
			c.Close()
		}
	}()
	var a accepted
	select {
	case a = <-ch:
		if a.err != nil {
			return p.startFailed(fmt.Sprintf("did not connect within %s", p.opts.StartTimeout), a.err)
		}
	case <-p.exited:
		ln.Close()
		return p.startFailed("exited before it connected", p.exitErr)
	}
	p.conn, p.reader = a.conn, a.r

	if err := p.writePacket(runtimeSource); err != nil {
		return p.startFailed("could not be sent its runtime", err)
	}
	packet, err := readPacket(p.reader)
	if err != nil {
		select {
		case <-p.exited:
		case <-time.After(outputGrace):
		}
		return p.startFailed("did not start its runtime", err)
	}
	p.conn.SetDeadline(time.Time{})
	return p.hello(packet)
}

// hello reads {hello, OtpRelease, ErtsVersion, Node, OsPid}.
func (p *Peer) hello(packet []byte) error {
	t, err := etf.Decode(packet)
	if err != nil {
		return p.startFailed("sent a hello that does not decode", err)
	}
	tup, ok := t.(etf.Tuple)
	if !ok || len(tup) != 5 || tup[0] != etf.Atom("hello") {
		return p.startFailed(fmt.Sprintf("sent %#v instead of its hello", t), nil)
	}
	otp, _ := tup[1].([]byte)
	erts, _ := tup[2].([]byte)
	node, _ := tup[3].(etf.Atom)
	pid, _ := tup[4].(int64)
	p.otp, p.erts, p.node, p.osPid = string(otp), string(erts), node, int(pid)
	if p.opts.Name != "" {
		p.label = string(node)
	}
	p.t.Logf("erlpeer: %s is OTP %s (erts %s), os pid %d, command %s",
		p.label, p.otp, p.erts, p.osPid, strings.Join(p.release.Command, " "))
	if want := p.release.OTP; want != "" && want != p.otp {
		return p.startFailed(fmt.Sprintf("is OTP %s, but %s=%s asks for OTP %s", p.otp, EnvOTP, want, want), nil)
	}
	return nil
}

func (p *Peer) startFailed(what string, cause error) error {
	select {
	case <-p.exited:
		// Let the last words of a peer that died reach the message.
		p.output.drain(outputGrace)
	default:
	}
	msg := fmt.Sprintf("erlpeer: %s (%s) %s", p.label, strings.Join(p.release.Command, " "), what)
	if cause != nil {
		msg += ": " + cause.Error()
	}
	return errors.New(msg + p.output.lastLines())
}

// Node is the peer's node name ('nonode@nohost' when it is not distributed).
func (p *Peer) Node() etf.Atom { return p.node }

// Cookie is the peer's distribution cookie, "" when it is not distributed.
func (p *Peer) Cookie() string { return p.cookie }

// OTP is the peer's OTP release, e.g. "27".
func (p *Peer) OTP() string { return p.otp }

// OTPAtLeast reports whether the peer runs OTP release n or later.
func (p *Peer) OTPAtLeast(n int) bool {
	v, err := strconv.Atoi(p.otp)
	return err == nil && v >= n
}

// OSPid is the operating system's id of the peer's emulator (beam.smp).
func (p *Peer) OSPid() int { return p.osPid }

// Done is closed when the peer's OS process has exited.
func (p *Peer) Done() <-chan struct{} { return p.exited }

// ExitErr is how the OS process ended, as exec.Cmd.Wait reports it (nil for exit status 0).
// It is meaningful once Done is closed.
func (p *Peer) ExitErr() error {
	select {
	case <-p.exited:
		return p.exitErr
	default:
		return nil
	}
}

// Kill ends the peer at once with SIGKILL, as kill -9 does: no Erlang code runs, and its
// connections drop without a word. It returns once the process is gone.
func (p *Peer) Kill() error {
	p.setStopReason("killed")
	p.signalKill()
	select {
	case <-p.exited:
		return nil
	case <-time.After(stopGrace):
		return fmt.Errorf("erlpeer: %s did not exit %s after SIGKILL", p.label, stopGrace)
	}
}

func (p *Peer) signalKill() {
	killGroup(p.cmd.Process.Pid)
	// Under a command prefix that forks (sudo, for one) the emulator is not the process
	// started; kill it by its own id too.
	if p.osPid > 0 && p.osPid != p.cmd.Process.Pid {
		killPid(p.osPid)
	}
}

// Stop ends the peer the orderly way: it closes the connection, on which the peer halts. A peer
// that has not exited after a grace period is killed. Stop returns once the process is gone.
func (p *Peer) Stop() error {
	p.setStopReason("stopped")
	if p.conn != nil {
		p.conn.Close()
	}
	select {
	case <-p.exited:
		return nil
	case <-time.After(stopGrace):
	}
	p.signalKill()
	select {
	case <-p.exited:
		return fmt.Errorf("erlpeer: %s did not halt within %s of being stopped; killed it", p.label, stopGrace)
	case <-time.After(stopGrace):
		return fmt.Errorf("erlpeer: %s did not exit even after SIGKILL", p.label)
	}
}

func (p *Peer) setStopReason(reason string) {
	p.stopReason.CompareAndSwap(nil, &reason)
}

func (p *Peer) cleanup() {
	if err := p.Stop(); err != nil {
		p.t.Error(err)
	}
	p.output.close(outputGrace)
}

func randomToken() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("erlpeer: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}
