package main

import (
	"testing"

	"github.com/stretchr/testify/require"
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
