// Package breaking is what `make check-breaking` runs: it compares the API
// description with the one last released and refuses breaking changes that
// the CHANGELOG does not record, so that people who regenerate from the spec
// learn what a change breaks before their integrators do.
//
// The comparison is oasdiff's (github.com/oasdiff/oasdiff): every check at
// level error, the changes oasdiff calls breaking (an operation, parameter,
// response status or property removed, a request made stricter, a type
// changed, ...). Its warnings (possibly breaking) are printed, not refused.
//
// A breaking change is recorded when the "## [Unreleased]" section of
// CHANGELOG.md has a "### Breaking" subsection (keep-a-changelog style; the
// heading may say more, e.g. "### Breaking changes") that names the
// operation it breaks, as "METHOD /path" (for example `GET /rostering/orgs`)
// or by its operationId. A change outside any operation (a shared component
// or a security scheme) is recorded by a non-empty Breaking subsection.
//
// The base, the spec the change is measured against, is in order: the ref
// given (BASE=... for make, -base for the command), else the newest release
// tag (v*) reachable from HEAD, else api/released.yaml, the copy of the spec
// as last released, kept for clones without tags (shallow CI clones, forks).
package breaking
