// Package contract loads the embedded Interop Data API description in the form
// that validation needs: host-independent (the servers are reduced to the base
// path, so a router matches whatever host the client or server runs on) and with
// the string formats the spec uses (uuid, email) registered per document instead
// of in kin-openapi's global state.
//
// Both pkg/server and pkg/client validate through this package, so both hold
// requests and responses to exactly the same contract.
package contract
