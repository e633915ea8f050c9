// Package store defines what the reference server needs from its storage: the
// tenants and their credentials, each tenant's roster repository and each
// tenant's task queue with leases and acknowledgement history.
//
// A store is thin: it keeps what it is given and offers primitives, and the
// meaning lives above it in package reference (as River keeps its drivers to
// thin primitives tested by one shared suite). A sync, for one, is
// Store.Sync running a function in one transaction over the SyncTx
// primitives: Stage and Apply put a set of objects the engine diffs itself
// (a bulk copy into a staging table, then a few statements find and write
// what is new or differs, passing those back with their priors), Put and
// PutAll put objects one by one, Remove and RemoveUnput delete, Enqueue
// queues; reference.ApplySync decides the SYNC_START and SYNC_END framing,
// the origin and the ADD, CHANGE and DELETE events. Every method takes the
// tenant scope and the current time explicitly, so a store holds no clock
// and no session state, and every method that changes data does so
// atomically. The behaviour every implementation must show is pinned down by
// the suite in package storetest, which every implementation runs.
package store
