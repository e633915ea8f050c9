// Package gen holds the code oapi-codegen generates from api/openapi.yaml: the
// models, a typed client, the Echo server interfaces (plain and strict) and the
// embedded spec. Nothing here is written by hand except this file and the
// configuration files beside it; run `make generate` after changing the spec.
package gen

//go:generate go run github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen -config models.cfg.yaml ../api/openapi.yaml
//go:generate go run github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen -config client.cfg.yaml ../api/openapi.yaml
//go:generate go run github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen -config server.cfg.yaml ../api/openapi.yaml
//go:generate go run github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen -config spec.cfg.yaml ../api/openapi.yaml
