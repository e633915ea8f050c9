// Package specroute gives kin-openapi's request validation (openapi3filter)
// the contract's own router and options, for the server kit and the
// conformance suite: no promise of package contract.
package specroute
