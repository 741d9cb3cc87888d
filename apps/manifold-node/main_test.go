package main

import (
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"
	"github.com/stretchr/testify/require"

	"github.com/gobeam/gobeam/node/nodetest"
)

func TestMaxMessageSizeFlag(t *testing.T) {
	for in, want := range map[string]int{
		"0": 0, "1048576": 1 << 20, "64MiB": 64 << 20, "64M": 64 << 20, "64 MB": 64 << 20,
		"512k": 512 << 10, "1GiB": 1 << 30, "2G": 0, "100B": 100,
	} {
		c, err := parseFlags([]string{"--max-message-size", in})
		if want == 0 && in != "0" {
			require.Error(t, err, in)
			continue
		}
		require.NoError(t, err, in)
		o, err := c.nodeOptions(nil)
		require.NoError(t, err)
		require.Equal(t, want, o.MaxMessageSize, in)
	}
	for _, bad := range []string{"-1", "64XB", "MiB", "1.5MiB", "64iB", "99999999999"} {
		_, err := parseFlags([]string{"--max-message-size", bad})
		require.Error(t, err, bad)
	}
	c, err := parseFlags(nil)
	require.NoError(t, err)
	o, err := c.nodeOptions(nil)
	require.NoError(t, err)
	require.Zero(t, o.MaxMessageSize, "no limit unless asked, as BEAM")

	t.Setenv("GOBEAM_MAX_MESSAGE_SIZE", "8MiB")
	c, err = parseFlags(nil)
	require.NoError(t, err)
	require.EqualValues(t, 8<<20, c.maxMessageSize)
}

func TestTLSFlags(t *testing.T) {
	dir := t.TempDir()
	ca := nodetest.NewCA(t, "flags test CA")
	certPEM, keyPEM := ca.Issue(t, "127.0.0.1")
	block, _ := pem.Decode(certPEM)
	require.NotNil(t, block)
	der := block.Bytes
	certFile, keyFile, caFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"), filepath.Join(dir, "ca.pem")
	require.NoError(t, os.WriteFile(certFile, certPEM, 0o600))
	require.NoError(t, os.WriteFile(keyFile, keyPEM, 0o600))
	require.NoError(t, os.WriteFile(caFile, ca.PEM, 0o600))

	c, err := parseFlags([]string{"--tls-cert", certFile, "--tls-key", keyFile, "--tls-ca", caFile, "--tls-server-name", "cluster.internal"})
	require.NoError(t, err)
	o, err := c.nodeOptions(nil)
	require.NoError(t, err)
	require.NotNil(t, o.TLS)
	require.Equal(t, [][]byte{der}, o.TLS.Certificate.Certificate)
	require.True(t, o.TLS.CAs.Equal(ca.Pool()), "the authorities of --tls-ca")
	require.Equal(t, "cluster.internal", o.TLS.ServerName)

	c, err = parseFlags(nil)
	require.NoError(t, err)
	o, err = c.nodeOptions(nil)
	require.NoError(t, err)
	require.Nil(t, o.TLS, "plain TCP unless asked, as erl")

	_, err = parseFlags([]string{"--tls-cert", certFile})
	require.ErrorContains(t, err, "--tls-key")
	_, err = parseFlags([]string{"--tls-ca", certFile})
	require.ErrorContains(t, err, "--tls-cert")
	c, err = parseFlags([]string{"--tls-cert", certFile, "--tls-key", keyFile, "--tls-ca", keyFile})
	require.NoError(t, err)
	_, err = c.nodeOptions(nil)
	require.ErrorContains(t, err, "no PEM certificate in "+keyFile)
}

func TestDistPortFlag(t *testing.T) {
	c, err := parseFlags([]string{"--dist-port", "9100"})
	require.NoError(t, err)
	o, err := c.nodeOptions(nil)
	require.NoError(t, err)
	require.EqualValues(t, 9100, o.DistPort)
	_, err = parseFlags([]string{"--dist-port", "9100", "--listen", "9200"})
	require.ErrorContains(t, err, "--dist-port")
	t.Setenv("GOBEAM_DIST_PORT", "9300")
	c, err = parseFlags(nil)
	require.NoError(t, err)
	require.EqualValues(t, 9300, c.distPort)
}

func TestPeerCookieFlag(t *testing.T) {
	c, err := parseFlags([]string{"--peer-cookie", "a@10.0.0.1=alpha", "--peer-cookie", "b@10.0.0.2=be=ta"})
	require.NoError(t, err)
	o, err := c.nodeOptions(nil)
	require.NoError(t, err)
	require.Equal(t, map[string]string{"a@10.0.0.1": "alpha", "b@10.0.0.2": "be=ta"}, o.Cookies)
	_, err = parseFlags([]string{"--peer-cookie", "a@10.0.0.1"})
	require.ErrorContains(t, err, "peer-cookie")

	t.Setenv("GOBEAM_PEER_COOKIE", "c@h=gamma")
	c, err = parseFlags(nil)
	require.NoError(t, err)
	require.Equal(t, map[string]string{"c@h": "gamma"}, c.peerCookies)
}

// A flag on the command line overrides the flag it excludes when that one comes from the
// environment; both on the command line, or both in the environment, are refused.
func TestCommandLineOverridesTheEnvironment(t *testing.T) {
	t.Setenv("GOBEAM_VISIBLE", "true")
	c, err := parseFlags([]string{"--hidden"})
	require.NoError(t, err)
	require.True(t, c.hidden)
	require.False(t, c.visible)
	c, err = parseFlags(nil)
	require.NoError(t, err)
	require.True(t, c.visible)
	_, err = parseFlags([]string{"--hidden", "--visible"})
	require.Error(t, err)

	t.Setenv("GOBEAM_NAME", "a@h.example")
	c, err = parseFlags([]string{"--sname", "b"})
	require.NoError(t, err)
	require.Equal(t, "b", c.sname)
	require.Empty(t, c.name)

	t.Setenv("GOBEAM_LISTEN", "9100-9199")
	c, err = parseFlags([]string{"--dist-port", "9100"})
	require.NoError(t, err)
	require.EqualValues(t, 9100, c.distPort)
	require.Empty(t, c.listen)

	t.Setenv("GOBEAM_HIDDEN", "true")
	_, err = parseFlags(nil)
	require.Error(t, err, "both from the environment")

	// A map flag given on the command line replaces its variable instead of adding to it.
	t.Setenv("GOBEAM_PEER_COOKIE", "a@h=x,c@h=z")
	c, err = parseFlags([]string{"--hidden", "--peer-cookie", "b@h=y"})
	require.NoError(t, err)
	require.Equal(t, map[string]string{"b@h": "y"}, c.peerCookies)
	c, err = parseFlags([]string{"--hidden"})
	require.NoError(t, err)
	require.Equal(t, map[string]string{"a@h": "x", "c@h": "z"}, c.peerCookies)
}

// A value refused by a check is named as it was given: the flag, or the variable.
func TestErrorsNameWhereTheValueCameFrom(t *testing.T) {
	_, err := parseFlags([]string{"--partitioners", "40"})
	require.EqualError(t, err, "--partitioners is 1..32 (0: the default), not 40")
	t.Setenv("GOBEAM_PARTITIONERS", "40")
	_, err = parseFlags(nil)
	require.EqualError(t, err, "GOBEAM_PARTITIONERS is 1..32 (0: the default), not 40")
	_, err = parseFlags([]string{"--partitioners", "4"})
	require.NoError(t, err)
	t.Setenv("GOBEAM_PEER_COOKIE", "foo=bar")
	_, err = parseFlags([]string{"--partitioners", "4"})
	require.ErrorContains(t, err, "GOBEAM_PEER_COOKIE")

	_, err = parseFlags([]string{"--help"})
	require.ErrorIs(t, err, pflag.ErrHelp)
}

func TestListenHostFlag(t *testing.T) {
	c, err := parseFlags([]string{"--listen-host", "10.0.0.5"})
	require.NoError(t, err)
	o, err := c.nodeOptions(nil)
	require.NoError(t, err)
	require.Equal(t, "10.0.0.5", o.ListenHost)
}

// --name without a host takes this machine's full name, as erl -name does, and fails as erl
// does when the machine's name has no domain; it never falls back to a local address, which
// other hosts could not reach.
func TestNameWithoutHost(t *testing.T) {
	c, err := parseFlags([]string{"--name", "foo"})
	require.NoError(t, err)
	name, err := c.nodeName("manifold")
	if err != nil {
		require.ErrorContains(t, err, "give the host too")
		return
	}
	alive, host, ok := strings.Cut(name, "@")
	require.True(t, ok)
	require.Equal(t, "foo", alive)
	require.Contains(t, host, ".")
	require.NotEqual(t, "127.0.0.1", host)
}

// --listen is read with the other flags, and a bad one is named as it was given.
func TestListenFlag(t *testing.T) {
	c, err := parseFlags([]string{"--listen", "9100-9199"})
	require.NoError(t, err)
	o, err := c.nodeOptions(nil)
	require.NoError(t, err)
	require.Equal(t, [2]uint16{9100, 9199}, [2]uint16{o.ListenPortMin, o.ListenPortMax})
	c, err = parseFlags([]string{"--listen", "9100"})
	require.NoError(t, err)
	require.Equal(t, [2]uint16{9100, 9100}, [2]uint16{c.listenMin, c.listenMax})

	for _, bad := range []string{"abc", "9199-9100", "9100-", "70000", "1-x"} {
		_, err = parseFlags([]string{"--listen", bad})
		require.ErrorContains(t, err, `--listen "`+bad+`": want PORT or MIN-MAX`)
	}
	// Port 0 is no port to listen on, and Ergo's acceptor never reaches 65535: named here,
	// not found by the node when it starts.
	for _, bad := range []string{"0", "0-100", "65535", "65000-65535"} {
		_, err = parseFlags([]string{"--listen", bad})
		require.EqualError(t, err, `--listen "`+bad+`": ports are 1..65534`)
	}
	_, err = parseFlags([]string{"--dist-port", "65535"})
	require.EqualError(t, err, "--dist-port is 1..65534, not 65535")
	t.Setenv("GOBEAM_LISTEN", "abc")
	_, err = parseFlags(nil)
	require.ErrorContains(t, err, `GOBEAM_LISTEN "abc": want PORT or MIN-MAX`)
}

// Manifold's counts out of their ranges are refused by name.
func TestManifoldFlags(t *testing.T) {
	for flag, bad := range map[string]string{"partitioners": "33", "senders": "129", "workers": "1025", "wire-shape": "5"} {
		_, err := parseFlags([]string{"--" + flag, bad})
		require.ErrorContains(t, err, "--"+flag+" is ")
		require.ErrorContains(t, err, bad)
	}
	_, err := parseFlags([]string{"--workers", "-1"})
	require.EqualError(t, err, "--workers is 1..1024 (0: the default), not -1")
}

// Durations that make no sense are refused by name.
func TestDurationFlags(t *testing.T) {
	_, err := parseFlags([]string{"--stats-every", "-1s"})
	require.EqualError(t, err, "--stats-every cannot be negative")
	_, err = parseFlags([]string{"--stats-every", "0"})
	require.NoError(t, err, "0: never")
	for _, bad := range []string{"0", "-5s"} {
		_, err = parseFlags([]string{"--demo", "--demo-duration", bad})
		require.EqualError(t, err, "--demo-duration is more than 0")
	}
}

// The demo runs its own nodes: node flags given with it would be ignored, so they are refused;
// Manifold's own settings apply to it, and node settings in the environment stay for the node
// the program otherwise runs.
func TestDemoRefusesTheFlagsItDoesNotUse(t *testing.T) {
	_, err := parseFlags([]string{"--demo", "--name", "go@10.0.0.5", "--cookie", "x"})
	require.EqualError(t, err, "--demo runs nodes of its own and does not use --cookie, --name")
	c, err := parseFlags([]string{"--demo", "--partitioners", "4", "--demo-pids", "10", "--wire-shape", "4"})
	require.NoError(t, err)
	require.Equal(t, 4, c.partitioners)
	t.Setenv("GOBEAM_NAME", "go@10.0.0.5")
	_, err = parseFlags([]string{"--demo"})
	require.NoError(t, err)
}
