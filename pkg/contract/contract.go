package contract

import (
	"context"
	"fmt"

	"github.com/getkin/kin-openapi/openapi3"

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

// SchemaOptions are the schema-validation options every validator of this API
// uses: the formats the spec names, checked per document.
func SchemaOptions() []openapi3.SchemaValidationOption {
	return []openapi3.SchemaValidationOption{
		openapi3.WithStringFormatValidators(projectFormats),
		// Errors name the rule and the JSON pointer, never the value: a
		// pretty-printed value costs time and memory quadratic in its
		// nesting, and may hold what a log should not.
		openapi3.DisableSchemaErrorDetails(),
	}
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
