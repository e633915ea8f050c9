// Package conformance is an executable, black-box test suite for servers of the
// Interop Data API. It talks HTTP only, to any base URL, and knows nothing of a
// server's internals: every promise it checks comes from api/openapi.yaml (the
// contract) and RFC 6749 (the token endpoint).
//
// Run drives the whole suite and returns a Report; RunT does the same from
// another project's go test, one subtest per check. The command-line front end
// is `interop conformance`.
//
// The suite changes no data it did not create, with one stated exception: it
// acknowledges and deletes tasks of the queues of the tenants it is given
// (Notice says so, and Run prints it before it starts). Roster data is only read.
//
// Every response the suite receives is validated against the contract (status,
// headers, body, errors included). A response that breaks the contract fails
// the check that received it and the per-operation "spec" check of its
// operation, so a broken server fails with a message that names the broken
// promise rather than a generic decoding error.
//
// An operation of the contract that answers 501 Not Implemented (what the
// kit's server.Unimplemented answers) is not a broken promise but a server
// under construction: the check that met it ends with the verdict
// NotImplemented, its spec check too, and Report.NotImplemented counts them
// apart from passed, failed and skipped. They do not fail the run. Checks
// that could not reach an operation because the operations leading to it are
// not implemented are skipped, saying so.
package conformance
