// Package drift holds a deployment's traffic against the contract: it
// checks recorded exchanges (a request and its answer) with the compiled
// contract validator (pkg/contract), the one the server kit and the client
// use, and keeps a drift report of what it saw: per operation the calls,
// the statuses, the violations grouped by JSON pointer (array indices
// normalised to *) and rule, and the documented wire variants the client
// tolerates (pkg/client WireVariants, plus unknown fields and unknown
// values of open vocabularies) counted by class; the requests no operation
// matches; the operations never seen; and what the traffic says of the
// operations the spec marks x-unconfirmed.
//
// The report never holds a value from a body (roster data is student
// PII), a token or a secret: a violation names its place and its rule only,
// and every token of a pointer or a path that is not a name the spec
// declares is replaced ({key}, {id}). Its size is bounded whatever the
// traffic: pointers collapse onto the spec's vocabulary, and unmatched paths
// onto the spec's literal segments, at most MaxUnmatched of them.
//
// The interop proxy (pkg/proxy) feeds a Recorder from live traffic and
// interop check from a HAR recording (pkg/har).
package drift
