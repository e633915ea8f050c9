package server

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/interop-data/interop/pkg/contract"
)

// FuzzStrictJSON feeds the kit's one pass over a request body (checkBody:
// the limits always, with request validation the validator's strict pass)
// arbitrary bytes, labelled JSON, with validation on and off. Which fault
// the pass names is held to a reference by contract's
// FuzzScanAgreesWithReference; here, what the kit answers: it never panics,
// every refusal is a 400 invalid_body (or the validator's 415) with bounded
// text, and a body the limits alone refuse (validation off) is refused at
// once with validation on as well, where the stricter pass may find another
// fault first but never lets it through.
func FuzzStrictJSON(f *testing.F) {
	for _, s := range []string{
		`{"status":"success"}`, `[{"task_id":"0b6b1f5e-2d0c-4c59-9d43-1f4e8a3d9c01","status":"retry"}]`,
		`{"status":"success","status":"error"}`, `{"a":{"b/c~":{"x":1,"x":2}}}`, `{"a":1} junk`, `[[[[[[]]]]]]`,
		`"[[[[\"{{{"`, `{"a":"\\"}`, `{"\u0061":1,"a":2}`, strings.Repeat("[", 65) + strings.Repeat("]", 65), `[1,2,`, ``, `  `,
		"{\"\xff\":1,\"\xfe\":2}", `[{"a":1},{"a":1,"b":[{"a":1,"a":2}]}]`, `1 2`, `{"a":1}}`,
	} {
		f.Add([]byte(s))
	}
	c, err := contract.Shared()
	if err != nil {
		f.Fatal(err)
	}
	op := c.Operation("acknowledgeTask")
	on := &Server{reqValidation: true, maxDepth: 8, maxElements: 40}
	off := &Server{maxDepth: 8, maxElements: 40}
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest("PUT", "/tasks/x/ack", nil)
		r.Header.Set("Content-Type", "application/json")
		onNow, onLater := on.checkBody(op, r, body)
		offNow, offLater := off.checkBody(op, r, body)
		for _, err := range []error{onNow, onLater, offNow} {
			if err == nil {
				continue
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("%T %v", err, err)
			}
			if (e.Status != http.StatusBadRequest || e.Code != CodeInvalidBody) && e.Status != http.StatusUnsupportedMediaType {
				t.Fatalf("refusal %d %s", e.Status, e.Code)
			}
			if len(e.Body().Error.Message) > MaxErrorText || len(e.Body().Error.Details) > MaxErrorText {
				t.Fatalf("unbounded error text")
			}
		}
		if offLater != nil {
			t.Fatalf("validation off judged more than the limits: %v", offLater)
		}
		if onNow != nil && onLater != nil {
			t.Fatalf("two verdicts: %v and %v", onNow, onLater)
		}
		if offNow != nil && onNow == nil {
			t.Fatalf("refused with validation off (%v), let through to the parameters' checks with it on (%v): %q", offNow, onLater, body)
		}
		if offNow != nil && strings.Contains(offNow.Error(), "UTF-8") && offNow.Error() != onNow.Error() {
			t.Fatalf("UTF-8: %v off, %v on", offNow, onNow)
		}
	})
}
