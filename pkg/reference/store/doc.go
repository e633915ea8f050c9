// Package store defines what the reference server needs from its storage: the
// tenants and their credentials, each tenant's roster repository and each
// tenant's task queue with leases and acknowledgement history.
//
// The interface is written so that a second implementation (PostgreSQL, say)
// can follow without changing callers: every method takes the tenant scope and
// the current time explicitly, so a store holds no clock and no session state,
// and every method that changes data does so atomically. The behaviour every
// implementation must show is pinned down by the conformance suite in
// package storetest; package sqlite is the implementation shipped today.
package store
