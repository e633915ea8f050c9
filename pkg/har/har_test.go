package har_test

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/interop-data/interop/pkg/har"
)

func readAll(t *testing.T, doc string) ([]*har.Entry, error) {
	t.Helper()
	var out []*har.Entry
	err := har.Read(strings.NewReader(doc), func(e *har.Entry) error {
		out = append(out, e)
		return nil
	})
	return out, err
}

// A Chrome export: HTTP/2 pseudo-headers dropped, decoded content with its
// Content-Encoding dropped, base64 bodies decoded, a body left out marked
// missing, a request without an answer skipped.
func TestReadSample(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("testdata/sample.har")
	if err != nil {
		t.Fatal(err)
	}
	es, err := readAll(t, string(b))
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 4 {
		t.Fatalf("%d entries, want 4 (the failed request skipped)", len(es))
	}
	e := es[0]
	if e.Method != "GET" || e.URL.Path != "/v2/interop/data/rostering/schools" || e.URL.RawQuery != "page_size=2" || e.Status != 200 {
		t.Errorf("entry 0: %s %s %d", e.Method, e.URL, e.Status)
	}
	if _, ok := e.RequestHeader[":authority"]; ok || e.RequestHeader.Get("Authorization") != "Bearer abc" {
		t.Errorf("entry 0 request headers %v", e.RequestHeader)
	}
	if e.ResponseHeader.Get("Content-Encoding") != "" || !strings.HasPrefix(string(e.ResponseBody), `{"data":[`) {
		t.Errorf("entry 0 answer %v %s", e.ResponseHeader, e.ResponseBody)
	}
	if e := es[1]; string(e.RequestBody) != `{"status":"success"}` || e.RequestHeader.Get("Content-Type") != "application/json" ||
		e.Status != 204 || e.ResponseBodyMissing || len(e.ResponseBody) != 0 {
		t.Errorf("entry 1: %q %v %d missing=%v", e.RequestBody, e.RequestHeader, e.Status, e.ResponseBodyMissing)
	}
	if !es[2].ResponseBodyMissing {
		t.Error("entry 2: a body left out is not marked missing")
	}
	if string(es[3].ResponseBody) != `{"name":"Lincoln"}` {
		t.Errorf("entry 3: %q", es[3].ResponseBody)
	}
}

// What is not a HAR gets an error naming the entry at fault, usable with
// errors.As.
func TestReadErrors(t *testing.T) {
	t.Parallel()
	entry := func(req, resp string) string {
		return `{"log":{"entries":[{"request":{"method":"GET","url":"http://x/","headers":[]},"response":{"status":200,"content":{"size":0}}},{"request":` + req + `,"response":` + resp + `}]}}`
	}
	for _, c := range []struct {
		name, doc string
		entry     int
	}{
		{"not JSON", `<html>`, -1},
		{"no log", `{"version":"1.2"}`, -1},
		{"log not an object", `{"log":[]}`, -1},
		{"entries not an array", `{"log":{"entries":{}}}`, -1},
		{"entries cut", `{"log":{"entries":[`, -1},
		{"bad method", entry(`{"method":"GE T","url":"http://x/"}`, `{"status":200}`), 1},
		{"bad url", entry(`{"method":"GET","url":"http://[::1"}`, `{"status":200}`), 1},
		{"bad status", entry(`{"method":"GET","url":"http://x/"}`, `{"status":42}`), 1},
		{"bad base64", entry(`{"method":"GET","url":"http://x/"}`, `{"status":200,"content":{"text":"%%%","encoding":"base64"}}`), 1},
		{"no request", entry(`null`, `{"status":200}`), 1},
		{"entry of the wrong type", entry(`"GET"`, `{"status":200}`), 1},
	} {
		_, err := readAll(t, c.doc)
		var he *har.Error
		if !errors.As(err, &he) || he.Entry != c.entry {
			t.Errorf("%s: %v, want a *har.Error at entry %d", c.name, err, c.entry)
		}
	}
	if _, err := readAll(t, `{"version":"1.2"}`); !errors.Is(err, har.ErrNoLog) {
		t.Errorf("no log: %v, want ErrNoLog", err)
	}
}

// An error of the callback stops the reading and is returned as it is.
func TestReadStopsOnCallbackError(t *testing.T) {
	t.Parallel()
	stop := errors.New("stop")
	n := 0
	b, _ := os.ReadFile("testdata/sample.har")
	err := har.Read(strings.NewReader(string(b)), func(*har.Entry) error { n++; return stop })
	if err != stop || n != 1 {
		t.Fatalf("%v after %d entries", err, n)
	}
}

// FuzzRead: whatever the bytes, Read returns (no panic, no hang) and every
// entry it hands over has a method, a URL and a status.
func FuzzRead(f *testing.F) {
	b, err := os.ReadFile("testdata/sample.har")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Fuzz(func(t *testing.T, doc []byte) {
		_ = har.Read(strings.NewReader(string(doc)), func(e *har.Entry) error {
			if e.Method == "" || e.URL == nil || e.Status < 100 || e.Status > 999 || e.RequestHeader == nil || e.ResponseHeader == nil {
				t.Fatalf("incomplete entry %+v", e)
			}
			if e.ResponseHeader.Get("Content-Encoding") != "" {
				t.Fatal("Content-Encoding kept")
			}
			return nil
		})
	})
}
