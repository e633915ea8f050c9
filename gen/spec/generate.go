// Package spec holds api/openapi.yaml as oapi-codegen embeds it (GetSwagger,
// GetSpecJSON); a test in ../../api checks that it equals the committed file.
// Run `make generate` after changing the spec; spec.gen.go is never edited by hand.
package spec

//go:generate go run github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen -config cfg.yaml ../../api/openapi.yaml
