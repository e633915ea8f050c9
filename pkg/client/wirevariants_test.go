package client

import (
	"bytes"
	"encoding/json"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// Every documented variant of the tolerance tests is named by its class,
// and WireVariants hands back the same canonical body the client decodes;
// canonical bodies carry no class.
func TestWireVariantsNamesEveryDocumentedVariant(t *testing.T) {
	t.Parallel()
	want := func(name string) []string {
		switch {
		case strings.HasPrefix(name, "flat references"):
			return []string{VariantFlatReference}
		case name == "bare findLEA", name == "bare findSection":
			return []string{VariantBareFind, VariantFlatReference}
		case strings.HasPrefix(name, "bare find"):
			return []string{VariantBareFind}
		case strings.HasPrefix(name, "paging absent"), strings.HasPrefix(name, "next "):
			return []string{VariantNextAbsent}
		case strings.HasPrefix(name, "empty ack"), strings.HasPrefix(name, "204 "):
			return []string{VariantEmptyAck}
		}
		return nil // unknown fields and values: accepted as they are
	}
	h := http.Header{"Date": {ackDate.Format(http.TimeFormat)}}
	for _, wc := range wireCases {
		var reqBody []byte
		if wc.method == "PUT" {
			reqBody = []byte(`{"status":"success"}`)
			if wc.path == "/tasks/ack" {
				reqBody = []byte(`[{"task_id":"` + taskA + `","status":"success"},{"task_id":"` + taskB + `","status":"error"}]`)
			}
		}
		status, body, got := WireVariants(wc.method, wc.path, wc.status, h, reqBody, []byte(wc.variant))
		slices.Sort(got)
		exp := want(wc.name)
		slices.Sort(exp)
		if !slices.Equal(got, exp) {
			t.Errorf("%s: classes %v, want %v", wc.name, got, exp)
		}
		if status < 200 || status > 299 || (len(exp) > 0 && status == http.StatusNoContent) {
			t.Errorf("%s: status %d", wc.name, status)
		}
		if _, _, again := WireVariants(wc.method, wc.path, 200, h, reqBody, body); len(again) != 0 {
			t.Errorf("%s: the canonical body still has variants %v", wc.name, again)
		}
		if len(exp) > 0 && wc.method == "GET" && !sameJSON(t, body, []byte(wc.canonical)) {
			t.Errorf("%s: canonical body\n got %s\nwant %s", wc.name, body, wc.canonical)
		}
	}
}

func TestWireVariantsLeavesOtherAnswersAlone(t *testing.T) {
	t.Parallel()
	body := []byte(`{"error":{"status":404}}`)
	for _, c := range []struct {
		method, rel string
		status      int
	}{
		{"GET", "/rostering/orgs/" + districtID, 404}, // not 2xx
		{"GET", "/nowhere", 200},                      // no operation
		{"DELETE", "/tasks/admin/" + taskA, 200},      // no variant for this shape
	} {
		st, out, got := WireVariants(c.method, c.rel, c.status, nil, nil, body)
		if st != c.status || !bytes.Equal(out, body) || got != nil {
			t.Errorf("%s %s %d: %d %s %v", c.method, c.rel, c.status, st, out, got)
		}
	}
}

func sameJSON(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}
