package erlpeer

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Environment variables that select the erl the peers run.
const (
	// EnvOTP names the OTP release the tests must run against. Set, it makes a missing erl a
	// failure instead of a skip, and the peer's release must match it.
	EnvOTP = "GOBEAM_OTP"
	// EnvErlPrefix holds the words of a command that erl runs under, e.g. "chroot DIR".
	EnvErlPrefix = "GOBEAM_ERL_PREFIX"
)

// Release is an installed erl the peers run.
type Release struct {
	// OTP is the release asked for in GOBEAM_OTP, or "" when any erl will do.
	OTP string
	// Command is the argv that runs erl: the prefix words, then "erl".
	Command []string
}

// Required reports whether the environment asked for this release, so that its absence is a
// failure rather than a reason to skip.
func (r Release) Required() bool { return r.OTP != "" }

// String names the release for messages.
func (r Release) String() string {
	name := "erl"
	if r.OTP != "" {
		name = "OTP " + r.OTP
	}
	if len(r.Command) > 1 {
		return name + " (" + strings.Join(r.Command, " ") + ")"
	}
	return name
}

// HostPath returns where a file that erl sees at erlPath lives for the test: inside the chroot
// when erl runs under "chroot DIR" (or "sudo -E chroot DIR", as scripts/test has it for a user
// other than root), else erlPath itself. Files that erl must read at start (an
// ssl_dist_optfile and the certificates it names, say) are written there.
func (r Release) HostPath(erlPath string) string {
	words := r.Command
	if len(words) > 0 && filepath.Base(words[0]) == "sudo" {
		words = words[1:]
		for len(words) > 0 && strings.HasPrefix(words[0], "-") {
			words = words[1:]
		}
	}
	if len(words) > 2 && filepath.Base(words[0]) == "chroot" && !strings.HasPrefix(words[1], "-") {
		return filepath.Join(words[1], erlPath)
	}
	return erlPath
}

// ReleaseFromEnv returns the release the environment selects. ok is false when no release was
// asked for and there is no erl on PATH; err is set when the selection cannot be used.
func ReleaseFromEnv() (r Release, ok bool, err error) {
	r.OTP = strings.TrimSpace(os.Getenv(EnvOTP))
	prefix := strings.Fields(os.Getenv(EnvErlPrefix))
	r.Command = append(prefix, "erl")
	if _, lookErr := exec.LookPath(r.Command[0]); lookErr != nil {
		if !r.Required() {
			return r, false, nil
		}
		return r, false, fmt.Errorf("erlpeer: %s=%s asks for OTP %s, but %q cannot be run: %v",
			EnvOTP, r.OTP, r.OTP, strings.Join(r.Command, " "), lookErr)
	}
	return r, true, nil
}

// RequireRelease returns the release the environment selects, skipping the test when there is
// no erl and none was asked for, and failing it when one was asked for and cannot be run.
func RequireRelease(t testing.TB) Release {
	t.Helper()
	r, ok, err := ReleaseFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	if !ok {
		t.Skipf("erlpeer: no erl on PATH, skipping a test that needs a real Erlang node "+
			"(install Erlang/OTP, or run scripts/test, which installs OTP 25, 27 and 29 and sets %s)", EnvOTP)
	}
	return r
}
