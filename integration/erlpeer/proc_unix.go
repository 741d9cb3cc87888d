//go:build unix

package erlpeer

import "syscall"

// killGroup sends SIGKILL to the process group that pid leads: the emulator and the helper
// processes it started (erl_child_setup, port programs). epmd is not among them; it detaches
// into a session of its own and serves other nodes too.
func killGroup(pid int) {
	if err := syscall.Kill(-pid, syscall.SIGKILL); err != nil {
		syscall.Kill(pid, syscall.SIGKILL)
	}
}

func killPid(pid int) {
	syscall.Kill(pid, syscall.SIGKILL)
}
