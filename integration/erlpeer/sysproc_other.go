//go:build unix && !linux

package erlpeer

import "syscall"

// sysProcAttr puts the peer in a process group of its own, so that Kill reaches its helper
// processes too. (The peer also halts by itself when the test binary's connection closes.)
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
