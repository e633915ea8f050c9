package filteropts

import (
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
)

// New returns openapi3filter options with schema applied (the contract's
// SchemaOptions) and defaults never written into the validated request.
// Security requirements are not checked by the filter: the kit
// authenticates before it validates.
func New(schema []openapi3.SchemaValidationOption) *openapi3filter.Options {
	return &openapi3filter.Options{
		SkipSettingDefaults:     true,
		MultiError:              false,
		SchemaValidationOptions: schema,
		AuthenticationFunc:      openapi3filter.NoopAuthenticationFunc,
	}
}
