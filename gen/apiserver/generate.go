// Package apiserver holds the Echo server interfaces oapi-codegen generates from
// api/openapi.yaml: ServerInterface (plain Echo handlers), StrictServerInterface
// (typed requests and responses) and the routing between them, on the types of
// gen/models. Run `make generate` after changing the spec; server.gen.go is never
// edited by hand.
package apiserver

//go:generate go run github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen -config cfg.yaml ../../api/openapi.yaml
