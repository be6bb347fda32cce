package app

import "sync/atomic"

// RoleServe is the role of the serve command.
const RoleServe = "serve"

var role atomic.Pointer[string]

// SetRole records what this process is for, before its services start: serve sets RoleServe,
// and a component's command that runs one kind of background work sets its own name
// ("worker", "scheduler"). Components that can run work in-process read it in their
// constructor or Start to decide whether to run it.
func SetRole(r string) { role.Store(&r) }

// Role returns the role SetRole recorded, or "" for commands that only inspect or manage the
// app (migrate, health, jobs list...): those should run no background work.
func Role() string {
	if r := role.Load(); r != nil {
		return *r
	}
	return ""
}
