package main

import "syscall"

// commandSysProcAttr has the kernel send the command SIGTERM if testrun
// dies (even by SIGKILL), so that it does not run on against stopped
// emulators. The command stays in testrun's process group, so a Ctrl-C in
// the terminal reaches it directly.
func commandSysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
