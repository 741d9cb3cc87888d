package integration

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"ergo.services/ergo/gen"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gobeam/gobeam/etf"
	"github.com/gobeam/gobeam/integration/erlpeer"
	"github.com/gobeam/gobeam/node"
	"github.com/gobeam/gobeam/node/nodetest"
)

// The distribution over TLS against erl's inet_tls_dist, with certificates checked both ways
// (verify_peer and fail_if_no_peer_cert on the erl side, authorities and client certificates on
// the Go side): connections both ways, order, a large message each way, and the nodes that must
// be refused (a plain TCP node, a node whose certificate another authority signed).

// testCA is a certificate authority made for one test, with what the Go node and erl need of it.
type testCA struct{ *nodetest.CA }

func newTestCA(t testing.TB, name string) *testCA { return &testCA{nodetest.NewCA(t, name)} }

// testHosts are the hosts a test certificate names: the nodes on 127.0.0.1 and ::1.
var testHosts = []string{"127.0.0.1", "::1", "localhost"}

// goTLS is the Go node's TLS configuration with a certificate from ca.
func (ca *testCA) goTLS(t testing.TB) *node.TLS {
	return &node.TLS{Certificate: ca.Certificate(t, testHosts...), CAs: ca.Pool()}
}

// erlTLSArgs writes a certificate from ca and an ssl_dist_optfile where erl can read them, and
// returns erl's arguments for the TLS distribution. With verify, both sides check their peer
// (verify_peer, and fail_if_no_peer_cert as server); without, neither does, so that only the
// Go node's own checks can refuse a connection.
func (ca *testCA) erlTLSArgs(t testing.TB, verify bool) []string {
	t.Helper()
	release := erlpeer.RequireRelease(t)
	dir := "/tmp/" + erlpeer.UniqueName("gobeam-tls")
	host := release.HostPath(dir)
	require.NoError(t, os.MkdirAll(host, 0o700))
	t.Cleanup(func() { os.RemoveAll(host) })
	certPEM, keyPEM := ca.Issue(t, testHosts...)
	for name, data := range map[string][]byte{"cert.pem": certPEM, "key.pem": keyPEM, "ca.pem": ca.PEM} {
		require.NoError(t, os.WriteFile(filepath.Join(host, name), data, 0o600))
	}
	files := fmt.Sprintf(`{certfile, "%[1]s/cert.pem"}, {keyfile, "%[1]s/key.pem"}, {cacertfile, "%[1]s/ca.pem"}`, dir)
	server, client := files+", {verify, verify_peer}, {fail_if_no_peer_cert, true}", files+", {verify, verify_peer}"
	if !verify {
		server, client = files+", {verify, verify_none}", files+", {verify, verify_none}"
	}
	opts := fmt.Sprintf("[{server, [%s]}, {client, [%s]}].\n", server, client)
	require.NoError(t, os.WriteFile(filepath.Join(host, "dist.conf"), []byte(opts), 0o600))
	return []string{"-ssl_dist_optfile", dir + "/dist.conf"}
}

// tlsControlled reports whether erl's connection to peer runs over TLS: inet_tls_dist hands it
// to a process, inet_tcp_dist to a port.
const tlsControlled = `
	case [C || {N, C} <- erlang:system_info(dist_ctrl), N =:= Peer] of
		[Ctrl] when is_pid(Ctrl) -> tls;
		[Ctrl] when is_port(Ctrl) -> tcp;
		[] -> not_connected
	end.`

func TestTLSDistributionBothWays(t *testing.T) {
	const count = 20_000
	const size = 2 << 20
	ca := newTestCA(t, "gobeam test CA")
	c := newCluster(t)
	gn := c.goNode("go", node.Options{TLS: ca.goTLS(t)})
	_, out := spawnInbox(t, gn, "inbox", count+16)

	// erl dials the Go node.
	a := c.erlNode("erl_a", erlpeer.Options{ProtoDist: "inet_tls", Args: ca.erlTLSArgs(t, true)})
	logRelease(t, a)
	erlSendsInOrder(t, a, gn, out, "tls", count)
	got, err := a.EvalWith(tlsControlled, map[string]etf.Term{"Peer": gn.Name()})
	require.NoError(t, err)
	require.Equal(t, etf.Atom("tls"), got)
	_, err = a.EvalWith(`{inbox, Go} ! {big, gobeam_dist:pattern(Size)}, ok.`, map[string]etf.Term{"Go": gn.Name(), "Size": size})
	require.NoError(t, err)
	big := receive(t, out, 60*time.Second).(etf.Tuple)
	require.Equal(t, etf.Atom("big"), big[0])
	require.Equal(t, sha256.Sum256(pattern(size)), sha256.Sum256(big[1].([]byte)))

	// The Go node dials another erl: in order, and a large message, each payload checked by erl
	// against the pattern it builds itself.
	b := c.erlNode("erl_b", erlpeer.Options{ProtoDist: "inet_tls", Args: ca.erlTLSArgs(t, true)})
	collector := checkingCollector(t, b, count+1, `fun(I) when I =< Count -> gobeam_dist:pattern(I rem 64); (_) -> gobeam_dist:pattern(Size) end`,
		map[string]etf.Term{"Count": count, "Size": size})
	for i := 1; i <= count; i++ {
		require.NoError(t, gn.Send(collector, etf.Tuple{etf.Atom("seq"), etf.Atom("go"), i, pattern(i % 64)}))
	}
	require.NoError(t, gn.Send(collector, etf.Tuple{etf.Atom("seq"), etf.Atom("go"), count + 1, pattern(size)}))
	require.Equal(t, etf.Atom("ok"), b.MustCall("gobeam_dist", "await_collector", collector, 60_000))
	got, err = b.EvalWith(tlsControlled, map[string]etf.Term{"Peer": gn.Name()})
	require.NoError(t, err)
	require.Equal(t, etf.Atom("tls"), got)
}

func TestTLSDistributionRefusesWhoCannotProveItself(t *testing.T) {
	ca := newTestCA(t, "gobeam test CA")
	c := newCluster(t)
	gn := c.goNode("go", node.Options{TLS: ca.goTLS(t)})
	_, out := spawnInbox(t, gn, "inbox", 16)
	good := c.erlNode("good", erlpeer.Options{ProtoDist: "inet_tls", Args: ca.erlTLSArgs(t, true)})
	require.Equal(t, etf.Atom("pong"), good.MustEval(fmt.Sprintf(`net_adm:ping(%s).`, gn.Name())))

	// A node on plain TCP, and a TLS node whose certificate another authority signed, are
	// refused both ways; the good node's connection lives on. The stranger checks nothing
	// itself: it is the Go node that refuses its certificate, as client and as server.
	plain := c.erlNode("plain", erlpeer.Options{})
	stranger := c.erlNode("stranger", erlpeer.Options{ProtoDist: "inet_tls", Args: newTestCA(t, "another CA").erlTLSArgs(t, false)})
	for _, p := range []*erlpeer.Peer{plain, stranger} {
		assert.Equal(t, etf.Atom("pang"), p.MustEval(fmt.Sprintf(`net_adm:ping(%s).`, gn.Name())), "%s dialling the Go node", p.Node())
		assert.Error(t, gn.Send(gen.ProcessID{Name: "anyone", Node: p.Node()}, "hello"), "the Go node dialling %s", p.Node())
		assert.False(t, connected(gn, p.Node()))
	}
	_, err := good.EvalWith(`{inbox, Go} ! still_here, ok.`, map[string]etf.Term{"Go": gn.Name()})
	require.NoError(t, err)
	require.Equal(t, etf.Atom("still_here"), receive(t, out, 10*time.Second))
	require.True(t, connected(gn, good.Node()))
}
