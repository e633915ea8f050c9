// Package reference is the reference Interop Data API server: every
// operation of apiserver.StrictServerInterface on a store.Store, with the vendor's
// task-queue semantics (leases, acknowledgement, history), plus the pieces to
// run it: NewServer wires any store.Store (package store/open opens the one a
// --db value names, SQLite or PostgreSQL), OAuth2 and the server kit;
// CreateTenant installs a tenant (InstallTenant with chosen credentials);
// ApplySync runs one sync (SYNC_START, the
// ADD/CHANGE/DELETE events of what changed, SYNC_END, in one transaction)
// and Load and Demo put roster data in through it.
//
// Time comes in one of two ways, by what a call does: an operation that
// happens at one instant (CreateTenant, ApplySync, Load, EnsureDemo) takes
// that instant as now time.Time; what runs over time and reads the clock
// again and again (NewServer's Config.Clock, the OneRoster loader's
// WithClock) takes a func() time.Time. Settings are values, never options:
// Config for NewServer, SyncOptions for ApplySync, TenantCredentials for
// InstallTenant.
//
// Decisions the spec leaves to the server, made here:
//
//   - Tenant isolation: the principal's tenants scope every call. Another
//     tenant's object or task is 404, exactly like an unknown one; a
//     tenant_id on GET /tasks that the principal does not hold is 403.
//   - Lists are in the order objects were first stored; page and page_size
//     walk every object once; paging.next is null on the last page, which
//     is never empty unless the whole list is.
//   - GET /tasks leases the batch for the task lease (default 5m). page is
//     ignored and paging.next is always null: the next batch is simply the
//     next GET.
//   - Acknowledgement: success and error remove the task and record the
//     outcome. retry releases the lease at once. reauthenticate releases the
//     lease like retry (the task is delivered again once the integration has
//     authenticated the tenant again) and is recorded in the history, where
//     an operator sees that the tenant needs attention. Repeating a success
//     or error acknowledgement answers the original receipt; a different
//     outcome for a removed task is 409.
//   - Group acknowledgement is one transaction: an unknown or foreign id is
//     404 and nothing is acknowledged; an id twice in one group is 400.
//   - Admin list, find, ack and delete see the whole queue, leased or not,
//     and never lease.
package reference
