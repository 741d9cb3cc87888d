package node

import (
	"os"
	"os/signal"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gobeam/gobeam/node/nodetest"
)

// A node Start started leaves SIGTERM to the program: the program's handler gets it, the node
// keeps running, and nothing panics in os/signal. Ergo's handler can still be turned on, and
// then stops the node, which shows that the flag Start holds down is the one it tests.
func TestErgoSignalHandlerStaysOff(t *testing.T) {
	sig := make(chan os.Signal, 16)
	signal.Notify(sig, syscall.SIGTERM)
	defer signal.Stop(sig)

	n, err := Start("ctrlc@127.0.0.1", Options{Cookie: "c", EPMDPort: nodetest.Port(t)})
	require.NoError(t, err)
	defer n.Stop()
	flag := ergoSignalFlag(n)
	require.NotNil(t, flag, "Ergo's node has no enableCTRLC: ctrlc.go must keep its handler off another way")
	require.False(t, flag.Load(), "the flag is cleared once the node is up")

	require.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGTERM))
	select {
	case <-sig:
	case <-time.After(10 * time.Second):
		t.Fatal("the program's handler did not get SIGTERM")
	}
	// A handler of Ergo's would have stopped the node by now, or panicked on its closed channel.
	time.Sleep(200 * time.Millisecond)
	require.True(t, n.IsAlive(), "SIGTERM stopped the node: Ergo's handler is on")

	// Turned on by the program, Ergo's handler registers in a goroutine of its own: SIGTERM is
	// sent until it has stopped the node. It resets every handler when it gets the signal, so
	// the test's is registered again before each one, lest SIGTERM's default end the test.
	n.SetCTRLC(true)
	deadline := time.Now().Add(10 * time.Second)
	for n.IsAlive() {
		require.True(t, time.Now().Before(deadline), "Ergo's handler, turned on, did not stop the node")
		signal.Notify(sig, syscall.SIGTERM)
		require.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGTERM))
		time.Sleep(50 * time.Millisecond)
	}
}
