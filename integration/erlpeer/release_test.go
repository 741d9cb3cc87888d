package erlpeer

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestHostPath(t *testing.T) {
	for _, c := range []struct {
		command []string
		want    string
	}{
		{[]string{"erl"}, "/tmp/dist.conf"},
		{[]string{"chroot", "/var/cache/gobeam/sid", "erl"}, "/var/cache/gobeam/sid/tmp/dist.conf"},
		{[]string{"sudo", "-E", "chroot", "/var/cache/gobeam/sid", "erl"}, "/var/cache/gobeam/sid/tmp/dist.conf"},
		{[]string{"/usr/bin/sudo", "chroot", "/c", "erl"}, "/c/tmp/dist.conf"},
		{[]string{"chroot", "--userspec=1:1", "/c", "erl"}, "/tmp/dist.conf"}, // not read: taken as on the host
	} {
		require.Equal(t, c.want, Release{Command: c.command}.HostPath("/tmp/dist.conf"), "%q", c.command)
	}
}
