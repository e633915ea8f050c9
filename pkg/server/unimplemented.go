package server

import (
	"net/http"

	"github.com/interop-data/interop/gen/apiserver"
)

// Unimplemented answers every operation with 501 not_implemented. Embed it in
// an implementation to satisfy apiserver.StrictServerInterface while only some
// operations exist, and to keep compiling when the spec gains operations. Its
// methods are generated from the spec (unimplemented.gen.go).
type Unimplemented struct{}

var _ apiserver.StrictServerInterface = Unimplemented{}

func notImplemented(op string) *Error {
	return &Error{Status: http.StatusNotImplemented, Code: CodeNotImplemented, Message: "operation " + op + " is not implemented by this server"}
}
