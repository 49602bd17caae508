package main

import "syscall"

// childSysProcAttr has the kernel kill a function process if coldstart
// dies, so that none is left waiting on the fake Runtime API.
func childSysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

// quitSignal makes a Go process print its goroutines' stacks and exit.
var quitSignal = syscall.SIGQUIT
