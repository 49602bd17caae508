//go:build unix && !linux

package emulator

import "syscall"

// sysProcAttr puts the child in its own process group. Outside Linux there
// is no parent-death signal: stop emulators with Process.Stop.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

// TermWithParent does nothing outside Linux.
func TermWithParent() {}
