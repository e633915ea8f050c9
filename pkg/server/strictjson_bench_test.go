package server

import (
	"bytes"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/interop-data/interop/pkg/contract"
)

func groupAckBody(items int) []byte {
	var b bytes.Buffer
	b.WriteByte('[')
	for i := range items {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"task_id":"0b6b1f5e-2d0c-4c59-9d43-%012d","status":"error","message":"%s","params":{"a":"1","b":"2"}}`, i, strings.Repeat("m", 100))
	}
	b.WriteByte(']')
	return b.Bytes()
}

// BenchmarkRequestBodyChecks is what a JSON request body costs the kit
// between reading it and binding it, with request validation on: the limits,
// the encoding, ambiguous JSON and the schema, in one pass since issue 23
// (before it: a byte pass for the limits and ambiguous JSON, then the
// validator's). A typical acknowledgement, a 2000-item group acknowledgement
// and the depth attack (refused at the limit); with request validation off,
// what remains of it (the limits and the encoding).
func BenchmarkRequestBodyChecks(b *testing.B) {
	c, err := contract.Shared()
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name, op string
		body     []byte
	}{
		{"ack", "acknowledgeTask", []byte(`{"status":"error","message":"the roster could not be loaded","error":{"code":"E42","message":"timeout"},"params":{"school":"north","term":"2026-2"}}`)},
		{"group-ack-2000", "acknowledgeTasks", groupAckBody(2000)},
		{"nested-5000", "acknowledgeTasks", []byte(strings.Repeat("[", 5000) + strings.Repeat("]", 5000))},
	} {
		op := c.Operation(bc.op)
		r := httptest.NewRequest("PUT", "/", nil)
		r.Header.Set("Content-Type", "application/json")
		for _, validation := range []bool{true, false} {
			s := &Server{reqValidation: validation, maxDepth: DefaultMaxJSONDepth, maxElements: DefaultMaxJSONElements}
			name := bc.name + "/validation-on"
			if !validation {
				name = bc.name + "/validation-off" // the limits and the encoding only
			}
			b.Run(name, func(b *testing.B) {
				b.SetBytes(int64(len(bc.body)))
				b.ReportAllocs()
				for b.Loop() {
					_, _ = s.checkBody(op, r, bc.body)
				}
			})
		}
	}
}
