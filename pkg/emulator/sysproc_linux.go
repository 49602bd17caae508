package emulator

import "syscall"

// sysProcAttr puts the child in its own process group and has the kernel
// send it SIGTERM when the parent thread dies, so that a killed parent
// leaves no emulator running.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}
