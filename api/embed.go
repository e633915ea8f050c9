// Package api holds the hand-maintained OpenAPI description of the Interop Data
// API, api/openapi.yaml, and exposes its bytes. Everything typed in this module is
// generated from it (see ../gen).
package api

import _ "embed"

// Spec is the text of api/openapi.yaml, exactly as committed.
//
//go:embed openapi.yaml
var Spec []byte
