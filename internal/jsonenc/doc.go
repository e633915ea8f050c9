// Package jsonenc appends JSON values to a byte slice exactly as
// encoding/json writes them, for the hand-written encoders of hot paths
// (the loader's objects, a sync's events) that must stay byte for byte
// equal to json.Marshal without its reflection and allocations.
package jsonenc
