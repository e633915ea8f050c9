// Package models holds the Go types oapi-codegen generates from api/openapi.yaml:
// every schema, and the parameter and request-body types of every operation.
// It depends on no HTTP framework, so a client can import it alone.
// Run `make generate` after changing the spec; models.gen.go is never edited by hand.
package models

//go:generate go run github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen -config cfg.yaml ../../api/openapi.yaml
