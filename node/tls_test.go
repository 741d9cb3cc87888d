package node

import (
	"crypto/tls"
	"crypto/x509"
	"testing"

	"ergo.services/ergo/gen"
	"github.com/stretchr/testify/require"

	"github.com/gobeam/gobeam/etf"
	"github.com/gobeam/gobeam/node/nodetest"
)

// testCertificate is a certificate for 127.0.0.1 and 127.0.0.2 from an authority of its own,
// and a pool of that authority.
func testCertificate(t *testing.T) (tls.Certificate, *x509.CertPool) {
	ca := nodetest.NewCA(t, "node test CA")
	return ca.Certificate(t, "127.0.0.1", "127.0.0.2"), ca.Pool()
}

// Two Go nodes over TLS: calls and messages as over TCP, and a node without TLS cannot join.
func TestTwoGoNodesOverTLS(t *testing.T) {
	cert, pool := testCertificate(t)
	port := nodetest.Port(t)
	opts := Options{Cookie: "c", EPMDPort: port, TLS: &TLS{Certificate: cert, CAs: pool}}
	a := startNode(t, "tls_a@127.0.0.1", opts)
	b := startNode(t, "tls_b@127.0.0.1", opts)
	got, inbox := registerInbox(t, b, 8)

	require.NoError(t, a.Send(inbox, etf.Tuple{etf.Atom("hi"), "over TLS"}))
	require.Equal(t, etf.Tuple{etf.Atom("hi"), []byte("over TLS")}, received(t, got))
	reply, err := a.Call(inbox, etf.Atom("ping"))
	require.NoError(t, err)
	require.Equal(t, etf.Tuple{etf.Atom("pong"), etf.Atom("ping")}, reply)

	plain := startNode(t, "plain@127.0.0.1", Options{Cookie: "c", EPMDPort: port})
	require.Error(t, plain.Send(inbox, "hello"), "a plain TCP node cannot reach a TLS node")
	require.Error(t, a.Send(gen.ProcessID{Name: "x", Node: plain.Name()}, "hello"), "nor a TLS node a plain one")
}

func TestTLSOptionsAreChecked(t *testing.T) {
	_, err := Start("a@127.0.0.1", Options{Cookie: "c", EPMDPort: nodetest.Port(t), TLS: &TLS{}})
	require.ErrorContains(t, err, "no certificate")
	cert, _ := testCertificate(t)
	opts := Options{Cookie: "c", EPMDPort: nodetest.Port(t)}
	opts.Ergo.CertManager = gen.CreateCertManager(cert)
	_, err = Start("a@127.0.0.1", opts)
	require.ErrorContains(t, err, "Options.TLS")
}

// Without authorities a node checks dialled nodes against the system's roots, which do not
// know a test's authority, and asks nothing of nodes that dial in; InsecureSkipVerify
// accepts any certificate.
func TestTLSWithoutAuthorities(t *testing.T) {
	port := nodetest.Port(t)
	certA, _ := testCertificate(t)
	certB, _ := testCertificate(t)
	b := startNode(t, "noca_b@127.0.0.1", Options{Cookie: "c", EPMDPort: port, TLS: &TLS{Certificate: certB}})
	got, inbox := registerInbox(t, b, 1)

	strict := startNode(t, "noca_strict@127.0.0.1", Options{Cookie: "c", EPMDPort: port, TLS: &TLS{Certificate: certA}})
	require.Error(t, strict.Send(inbox, "hello"), "a test's authority is not among the system's roots")

	lax := startNode(t, "noca_lax@127.0.0.1", Options{Cookie: "c", EPMDPort: port, TLS: &TLS{Certificate: certA, InsecureSkipVerify: true}})
	require.NoError(t, lax.Send(inbox, "hello"))
	require.Equal(t, []byte("hello"), received(t, got))
}

// TLS in a cluster without EPMD: the fixed-port routes are TLS routes too.
func TestTLSWithoutEPMD(t *testing.T) {
	cert, pool := testCertificate(t)
	opts := Options{Cookie: "c", EPMDPort: nodetest.Port(t), DistPort: nodetest.Port(t), TLS: &TLS{Certificate: cert, CAs: pool}}
	a := startNode(t, "tlsfixed_a@127.0.0.1", opts)
	b := startNode(t, "tlsfixed_b@127.0.0.2", opts)
	reply, err := a.Call(gen.ProcessID{Name: "net_kernel", Node: b.Name()}, etf.Tuple{etf.Atom("is_auth"), a.Name()})
	require.NoError(t, err)
	require.Equal(t, etf.Atom("yes"), reply)
}
