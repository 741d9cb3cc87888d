package erlpeer

import "syscall"

// sysProcAttr puts the peer in a process group of its own, so that Kill reaches its helper
// processes too, and has the kernel kill it should the test binary die without cleaning up.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
