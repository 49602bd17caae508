package emulator

import (
	"os"
	"syscall"
)

// sysProcAttr puts the child in its own process group and has the kernel
// send it SIGTERM when the parent thread dies, so that a killed parent
// leaves no emulator running.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}

// TermWithParent asks the kernel for SIGTERM when this process's parent
// dies. `go run` exits on SIGTERM without passing it on; this way the
// supervisor (make run, make test) still hears of it and stops its
// children.
func TermWithParent() {
	ppid := os.Getppid()
	_, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, syscall.PR_SET_PDEATHSIG, uintptr(syscall.SIGTERM), 0)
	if errno == 0 && os.Getppid() != ppid { // the parent died before the request
		_ = syscall.Kill(os.Getpid(), syscall.SIGTERM)
	}
}
