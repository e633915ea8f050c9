// Package ctxsleep holds the one pause that ends early with its context,
// shared by the client's retries and the conformance suite's waits.
package ctxsleep
