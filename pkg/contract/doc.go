// Package contract holds the embedded Interop Data API description in the
// form validation needs, compiled once per process (Shared) and shared
// read-only by the server kit (pkg/server) and the client (pkg/client), so
// both hold requests and responses to exactly the same contract.
//
// kin-openapi loads and resolves the spec, checks parameters, headers and
// statuses, and is the oracle. Request and response bodies are checked by a
// validator compiled at start-up from kin-openapi's resolved schemas: one
// streaming pass over the bytes (github.com/go-faster/jx), without decoding
// into any, allocation-free on a valid body. It compiles allOf, properties,
// required, type, nullable, enum (of scalars), format (uuid, email, date,
// date-time, int32, int64 and any other kin-openapi knows), minimum,
// maximum, exclusiveMinimum/Maximum (3.0), minLength, maxLength, items,
// minItems, maxItems, additionalProperties, readOnly and writeOnly. A schema
// with any other keyword (kin-openapi's IsEmpty decides what is left) is
// validated by kin-openapi where it applies, and Compiled.Fallbacks names it
// (the kit and the client log the list when they start): nothing is
// skipped silently. The spec uses no such keyword today.
//
// The verdicts are kin-openapi's: a body is valid for the compiled
// validator exactly when it is for kin-openapi (decoding with
// encoding/json, then Schema.VisitJSON with SchemaOptions), and the first
// violation is the one kin-openapi reports first: allOf branches in order
// before the schema that holds them, then enum, type, readOnly, counts,
// properties in sorted key order, items in index order, required in the
// schema's order. TestCompiledAgreesWithKinOpenAPI and
// FuzzCompiledAgreesWithKinOpenAPI hold the two to that. One deliberate
// difference: a key repeated in one object is refused (rule "duplicate";
// kin-openapi would keep the last value without a word), wherever the object
// is.
//
// The same pass bounds what a body costs: Schema.ValidateWithin adds a
// depth limit, an element limit and a UTF-8 check (Limits), so a server
// reads each request body once for all of it, and CheckLimits is that pass
// without a schema, for bodies that are not validated.
//
// Every violation names its JSON pointer and rule, never the value, and is
// bounded in size (Violation); kin-openapi's own errors are configured the
// same way (DisableSchemaErrorDetails in SchemaOptions), so a deeply nested
// body costs a short message, not a pretty-print of itself per level.
//
// The servers of the spec are reduced to BasePath, so routing matches
// whatever host the client or server runs on; Compiled.Find matches paths
// without any HTTP router library.
package contract
