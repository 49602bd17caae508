package main

import (
	"os"
	"syscall"
)

// commandSysProcAttr has the kernel send the command SIGTERM if testrun
// dies (even by SIGKILL), so that it does not run on against stopped
// emulators. The command stays in testrun's process group, so a Ctrl-C in
// the terminal reaches it directly.
func commandSysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}

// termWithParent asks the kernel for SIGTERM when testrun's parent dies.
// "go run" exits on SIGTERM without passing it on; this way testrun still
// hears of it and stops the command and the emulators.
func termWithParent() {
	ppid := os.Getppid()
	_, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, syscall.PR_SET_PDEATHSIG, uintptr(syscall.SIGTERM), 0)
	if errno == 0 && os.Getppid() != ppid { // the parent died before the request
		_ = syscall.Kill(os.Getpid(), syscall.SIGTERM)
	}
}
