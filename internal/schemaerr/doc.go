// Package schemaerr turns kin-openapi's schema errors into what a violation
// carries: the first error of an allOf, its RFC 6901 pointer, and messages
// bounded in size. It serves the contract's validator, the client and the
// server kit, and is no promise to anyone else.
package schemaerr
