package node

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"

	"ergo.services/ergo/gen"
)

// TLS runs the distribution over TLS, as erl's `-proto_dist inet_tls` does: nodes find each
// other as usual (through EPMD, or by DistPort), then every connection, dialled or accepted, is
// a TLS connection that carries the ordinary distribution handshake and traffic. EPMD does not
// say which carrier a node uses, so a cluster agrees on it: every node uses TLS or none does.
type TLS struct {
	// Certificate is the node's certificate chain and private key. The node shows it as a
	// server to the nodes that dial it and as a client to the nodes it dials, as erl does with
	// the same certfile on both sides.
	Certificate tls.Certificate
	// CAs are the authorities the certificates of peers must chain to. A node this node dials
	// must show a certificate for the host part of its name (or ServerName); a node that dials
	// this one must show a client certificate (erl's verify_peer with fail_if_no_peer_cert).
	// Nil: the system's roots for the nodes it dials, and no certificate asked of nodes that
	// dial in.
	CAs *x509.CertPool
	// ServerName is the name every dialled node's certificate must carry, for clusters whose
	// certificates name a service rather than each host. Empty: the host part of the node name.
	ServerName string
	// InsecureSkipVerify accepts any certificate from the nodes this node dials (erl's
	// {verify, verify_none}). For tests only: the connection is then encrypted but anyone on
	// the path can stand in for the peer.
	InsecureSkipVerify bool
}

// LoadTLS reads a TLS configuration from PEM files, as erl's ssl_dist_optfile names them: the
// node's certificate chain, its private key and, unless caFile is empty, the authorities that
// peers' certificates must chain to.
func LoadTLS(certFile, keyFile, caFile string) (*TLS, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("node: TLS certificate: %w", err)
	}
	t := &TLS{Certificate: cert}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("node: TLS authorities: %w", err)
		}
		t.CAs = x509.NewCertPool()
		if !t.CAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("node: TLS authorities: no PEM certificate in %s", caFile)
		}
	}
	return t, nil
}

// certManager gives Ergo's acceptor and dialer what they need: the certificate for both sides,
// the authorities for both sides and the policy for client certificates.
func (t *TLS) certManager() (gen.CertAuthManager, error) {
	if len(t.Certificate.Certificate) == 0 {
		return nil, errors.New("node: Options.TLS has no certificate")
	}
	m := gen.CreateCertAuthManager(t.Certificate)
	if t.CAs != nil {
		m.SetRootCAs(t.CAs)
		m.SetClientCAs(t.CAs)
		m.SetClientAuth(tls.RequireAndVerifyClientCert)
	}
	if t.ServerName != "" {
		m.SetServerName(t.ServerName)
	}
	return m, nil
}
