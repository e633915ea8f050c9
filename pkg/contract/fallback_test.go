package contract_test

import (
	"context"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/interop-data/interop/pkg/contract"
)

// A spec with keywords the compiler does not support: the schemas holding
// them are named at start-up and validated by kin-openapi where they apply,
// the rest is compiled, and the verdicts and pointers are kin-openapi's.
const fallbackSpec = `
openapi: 3.0.3
info: {title: t, version: '1'}
paths:
  /things:
    put:
      operationId: putThing
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: '#/components/schemas/Thing'}
      responses:
        '204': {description: ok}
components:
  schemas:
    Code:
      type: string
      pattern: '^[A-Z]{3}$'
    Choice:
      oneOf:
        - {type: string}
        - {type: integer}
    Thing:
      type: object
      required: [name, code]
      properties:
        name: {type: string, maxLength: 5}
        code: {$ref: '#/components/schemas/Code'}
        choice: {$ref: '#/components/schemas/Choice'}
        tags:
          type: array
          uniqueItems: true
          items: {type: string}
`

func TestUnsupportedKeywordsFallBackToKinOpenAPI(t *testing.T) {
	doc, err := openapi3.NewLoader().LoadFromData([]byte(fallbackSpec))
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatal(err)
	}
	c, err := contract.Compile(doc)
	if err != nil {
		t.Fatal(err)
	}
	fb := strings.Join(c.Fallbacks(), "; ")
	for _, want := range []string{"#/components/schemas/Code (pattern)", "#/components/schemas/Choice (oneOf)", "tags (uniqueItems)"} {
		if !strings.Contains(fb, want) {
			t.Errorf("fallbacks %q lack %q", fb, want)
		}
	}
	if !strings.Contains(c.Summary(), "validated by kin-openapi") {
		t.Errorf("summary %q", c.Summary())
	}
	sc, v := c.Operation("putThing").RequestBody("application/json", []byte("{}"))
	if v != nil {
		t.Fatal(v)
	}
	for _, body := range []string{
		`{"name":"abc","code":"ABC"}`,
		`{"name":"abc","code":"abc"}`,
		`{"name":"abcdef","code":"ABC"}`,
		`{"name":"abc","code":"ABC","choice":1.5}`,
		`{"name":"abc","code":"ABC","choice":"x","tags":["a","a"]}`,
		`{"name":"abc","code":"ABC","tags":["a",1]}`,
		`{"code":"ABC","choice":true}`,
		`{"name":"abc","code":null}`,
		`{"tags":[["a"]],"name":7}`,
	} {
		agree(t, body, sc, []byte(body))
	}
	if v := sc.Validate([]byte(`{"name":"abc","code":"abc"}`)); v == nil || v.Pointer != "/code" || v.Rule != "pattern" {
		t.Errorf("pattern in a fall-back schema: %v", v)
	}
}
