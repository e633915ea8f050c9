package contract

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/interop-data/interop/gen/spec"
)

// BasePath is the path under which every operation of the API is served.
const BasePath = "/v2/interop/data"

// Load returns a fresh copy of the embedded spec whose servers are reduced to
// BasePath. Each call decodes its own copy, so callers may modify the result.
func Load() (*openapi3.T, error) {
	doc, err := spec.GetSpec()
	if err != nil {
		return nil, fmt.Errorf("contract: load embedded spec: %w", err)
	}
	// kin-openapi's router matches the host of each server URL; a relative
	// server keeps the base path and drops the host.
	doc.Servers = openapi3.Servers{{URL: BasePath}}
	if err := doc.Validate(context.Background(), openapi3.EnableSchemaFormatValidation()); err != nil {
		return nil, fmt.Errorf("contract: embedded spec is invalid: %w", err)
	}
	return doc, nil
}

// NewRouter loads the spec and returns a router that finds the operation of a
// request whatever its host.
func NewRouter() (*openapi3.T, routers.Router, error) {
	doc, err := Load()
	if err != nil {
		return nil, nil, err
	}
	r, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, nil, fmt.Errorf("contract: build router: %w", err)
	}
	return doc, r, nil
}

// SchemaOptions are the schema-validation options every validator of this API
// uses: the formats the spec names, checked per document.
func SchemaOptions() []openapi3.SchemaValidationOption {
	return []openapi3.SchemaValidationOption{
		openapi3.WithStringFormatValidator("uuid", openapi3.NewCallbackValidator(checkUUID)),
		openapi3.WithStringFormatValidator("email", openapi3.NewRegexpFormatValidator(openapi3.FormatOfStringForEmail)),
	}
}

// FilterOptions returns openapi3filter options with SchemaOptions applied and
// defaults never written into the validated request. auth may be nil, in which
// case security requirements are not checked by the filter.
func FilterOptions(auth openapi3filter.AuthenticationFunc) *openapi3filter.Options {
	o := &openapi3filter.Options{
		SkipSettingDefaults:     true,
		MultiError:              false,
		SchemaValidationOptions: SchemaOptions(),
		AuthenticationFunc:      auth,
	}
	if auth == nil {
		o.AuthenticationFunc = openapi3filter.NoopAuthenticationFunc
	}
	return o
}

// Mode says what a validator does with a message that breaks the contract.
// The server kit applies it to responses, the client to requests and
// responses; each package names the three values in its own terms.
type Mode int

const (
	// ModeOff skips validation.
	ModeOff Mode = iota
	// ModeReport validates, logs and counts a violation, and lets the message through.
	ModeReport
	// ModeEnforce validates and refuses a message that breaks the contract.
	ModeEnforce
)

func (m Mode) String() string {
	switch m {
	case ModeOff:
		return "off"
	case ModeReport:
		return "report"
	case ModeEnforce:
		return "enforce"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// ParseMode reads a mode as String writes it (for flags and configuration).
func ParseMode(s string) (Mode, error) {
	switch s {
	case "off":
		return ModeOff, nil
	case "report":
		return ModeReport, nil
	case "enforce":
		return ModeEnforce, nil
	}
	return 0, fmt.Errorf("contract: unknown validation mode %q (want off, report or enforce)", s)
}

var errNotUUID = errors.New("not a UUID (RFC 9562: 8-4-4-4-12 hex digits, version 1-8, variant 10xx, or the nil or max UUID)")

// checkUUID accepts exactly what kin-openapi's FormatOfStringForUUIDOfRFC9562
// pattern accepts. Every id of every object goes through it on each validated
// response, and a hand check is several times cheaper than the regexp.
func checkUUID(s string) error {
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return errNotUUID
	}
	for i := 0; i < 36; i++ {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			continue
		}
		if !isHex(s[i]) {
			return errNotUUID
		}
	}
	switch strings.ToLower(s) {
	case "00000000-0000-0000-0000-000000000000", "ffffffff-ffff-ffff-ffff-ffffffffffff":
		return nil
	}
	if v := s[14]; v < '1' || v > '8' {
		return errNotUUID
	}
	switch s[19] {
	case '8', '9', 'a', 'b', 'A', 'B':
		return nil
	}
	return errNotUUID
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
