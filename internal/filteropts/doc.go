// Package filteropts holds the openapi3filter options every validator of
// this API uses, for the contract's validator, the server kit and the
// conformance suite: no promise of package contract.
package filteropts
