// Package oneroster loads a district's OneRoster 1.1 CSV export (a directory
// or a .zip) into a tenant of the reference server as one sync, the way
// DataSync turns a district's SIS data into roster objects and events.
//
// A load runs in two passes so that bad input changes nothing:
//
//  1. Stage: every file the manifest names is streamed row by row, checking
//     each row on the way (required columns and values, vocabularies,
//     dates, UTF-8, CSV quoting), into memory (memStage) when the export is
//     small enough (WithMemoryLimit) and has no delta file, otherwise into
//     a temporary SQLite database (stage). Then the whole export is checked
//     as a set: duplicate sourcedIds and references to sourcedIds that do
//     not exist. Any error ends the load with a *ValidationError listing
//     every error of each file (up to a cap), each with its file, line,
//     column and rule.
//  2. Apply: the staged rows are joined into the API's objects (the mapping
//     is in docs/ONEROSTER.md) and written into the tenant in one
//     transaction that the store turns into SYNC_START, one ADD, CHANGE or
//     DELETE per object that really changed, and SYNC_END.
//
// Object ids are UUIDv5s of the tenant, the kind and the sourcedId (see ID),
// so that loading the same export again changes nothing and emits only
// SYNC_START and SYNC_END.
//
// In memory, a load holds the export's rows (compacted: about seven times
// the CSV's size at its peak, with the builder's garbage). On disk, memory
// is bounded by the staging database's page cache (32 MiB), the orgs,
// terms and course titles (a district has thousands at most) and a few
// per-object buffers: it does not grow with the number of users, classes
// or enrollments. Either way the store receives the sync as a stream
// (reference.ApplySync), and the builder reads the stage through one
// interface (roster), so both give the same objects.
//
// A load reads the tenant's rows of the files it does not replace before
// its transaction begins: run one load of a tenant at a time.
package oneroster
