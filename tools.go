//go:build tools

// Package tools pins the code generator and linters the Makefile runs, so that
// `go run` uses the versions recorded in go.mod and nothing is installed by hand.
package tools

import (
	_ "github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen"
	_ "honnef.co/go/tools/cmd/staticcheck"
)
