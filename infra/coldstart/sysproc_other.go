//go:build !linux

package main

import (
	"os"
	"syscall"
)

// childSysProcAttr is empty outside Linux, which has no parent-death
// signal.
func childSysProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{} }

// quitSignal ends a hung process; only on Linux is it SIGQUIT (a stack
// dump).
var quitSignal os.Signal = os.Kill
