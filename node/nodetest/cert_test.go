package nodetest

import (
	"crypto/x509"
	"encoding/pem"
	"net"
	"testing"

	"github.com/stretchr/testify/require"
)

// An issued certificate chains to its authority, names every host as a DNS name and each
// address as an IP address too, and serves as server and as client.
func TestIssuedCertificatesVerify(t *testing.T) {
	ca := NewCA(t, "test CA")
	certPEM, _ := ca.Issue(t, "127.0.0.1", "::1", "localhost")
	block, _ := pem.Decode(certPEM)
	require.NotNil(t, block)
	cert, err := x509.ParseCertificate(block.Bytes)
	require.NoError(t, err)
	require.Equal(t, []string{"127.0.0.1", "::1", "localhost"}, cert.DNSNames)
	require.Len(t, cert.IPAddresses, 2)
	require.True(t, cert.IPAddresses[0].Equal(net.IPv4(127, 0, 0, 1)))
	require.True(t, cert.IPAddresses[1].Equal(net.IPv6loopback))
	for _, usage := range []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth} {
		for _, name := range []string{"127.0.0.1", "::1", "localhost"} {
			_, err := cert.Verify(x509.VerifyOptions{Roots: ca.Pool(), DNSName: name, KeyUsages: []x509.ExtKeyUsage{usage}})
			require.NoError(t, err, "%s as %v", name, usage)
		}
	}
	_, err = cert.Verify(x509.VerifyOptions{Roots: NewCA(t, "other CA").Pool()})
	require.Error(t, err, "another authority's pool")

	tc := ca.Certificate(t, "127.0.0.1")
	require.Len(t, tc.Certificate, 1)
}
