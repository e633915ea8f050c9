package client

import (
	"bytes"
	"net/http"
	"strconv"
	"testing"
	"time"
)

// Parsers of what servers send: Retry-After headers, JWT exp claims, error
// bodies and tasks. None may panic, whatever the input.

func FuzzRetryAfter(f *testing.F) {
	for _, s := range []string{"0", "7", "-1", "120", " 3 ", "Wed, 21 Oct 2015 07:28:00 GMT", "soon", "", "99999999999999999999"} {
		f.Add(s)
	}
	now := time.Date(2025, 11, 16, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, h string) {
		d, ok := retryAfter(h, now)
		if !ok {
			if d != 0 {
				t.Fatalf("retryAfter(%q) = %v without ok", h, d)
			}
			return
		}
		if d < 0 {
			t.Fatalf("retryAfter(%q) = %v, negative", h, d)
		}
		if n, err := strconv.Atoi(h); err == nil && n >= 0 && n < 1<<30 && d != time.Duration(n)*time.Second {
			t.Fatalf("retryAfter(%q) = %v, want %ds", h, d, n)
		}
	})
}

func FuzzJWTExpiry(f *testing.F) {
	for _, s := range []string{"a.eyJleHAiOjE3MDAwMDAwMDB9.c", "a.b.c", "a.e30.c", "", "...", "a.eyJleHAiOiJ4In0.c", "a.eyJleHAiOjFlMzAwfQ.c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, jwt string) { _ = jwtExpiry(jwt) })
}

func FuzzNewAPIError(f *testing.F) {
	for _, s := range []string{`{"error":{"status":404,"code":"not_found","message":"no such person"}}`, `<html>Bad Gateway</html>`, ``, `{"error":null}`, `{"error":{"details":7}}`} {
		f.Add(503, "30", s)
	}
	f.Fuzz(func(t *testing.T, status int, ra, body string) {
		if status < 100 || status > 999 {
			return
		}
		resp := &http.Response{StatusCode: status, Header: http.Header{"Retry-After": {ra}}}
		e := newAPIError("op", resp, []byte(body))
		if e.StatusCode != status || len(e.Body) > maxErrorBody || e.RetryAfter < 0 || e.Error() == "" {
			t.Fatalf("newAPIError(%d, %q) = %+v", status, body, e)
		}
	})
}

func FuzzTaskUnmarshal(f *testing.F) {
	for _, s := range []string{
		`{"data_event":{"id":"00000000-0000-4000-8000-000000000001","tenant_id":"00000000-0000-4000-8000-000000000002","sequence":3,"action":"ADD"}}`,
		`{"type":"data_event","id":"00000000-0000-4000-8000-000000000001","sequence":4}`,
		`{"future_event":{"id":"00000000-0000-4000-8000-000000000001"}}`,
		`{}`, `[]`, `null`, `{"data_event":null}`, `{"type":""}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var tk Task
		if err := tk.UnmarshalJSON(b); err != nil {
			return
		}
		if !bytes.Equal(tk.Raw, b) {
			t.Fatalf("Raw %q, want the input %q", tk.Raw, b)
		}
	})
}
