//go:build !linux

package main

import "syscall"

// commandSysProcAttr is empty outside Linux, which has no parent-death
// signal.
func commandSysProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{} }
