// Package apiclient holds the typed HTTP client oapi-codegen generates from
// api/openapi.yaml, one method per operation, on the types of gen/models.
// It depends on no HTTP server framework. Run `make generate` after changing the
// spec; client.gen.go is never edited by hand.
package apiclient

//go:generate go run github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen -config cfg.yaml ../../api/openapi.yaml
