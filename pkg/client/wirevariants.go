package client

import (
	"bytes"
	"encoding/json"
	"net/http"
	"time"
)

// The classes of the documented wire variants the client tolerates (see
// normalize.go), as WireVariants names them. Tools that watch a deployment's
// traffic (interop proxy, interop check) count them apart from violations.
const (
	// VariantFlatReference: a reference member ($parent, $schools, ...)
	// holds the flat 2022 RefType instead of the $sys-wrapped reference.
	VariantFlatReference = "flat-reference"
	// VariantBareFind: a find answers the object instead of {"data": {...}}.
	VariantBareFind = "bare-find"
	// VariantEmptyAck: an acknowledgement answered 200 or 204 without a body.
	VariantEmptyAck = "empty-ack"
	// VariantNextAbsent: a list without paging, or with paging.next absent
	// or "" (the contract says null on the last page).
	VariantNextAbsent = "next-absent"
)

// WireVariants reports which documented wire variants a 2xx answer uses
// and returns the answer as the client validates and decodes it: its status
// and body in the contract's canonical shape (unchanged when it uses none).
// rel is the request path relative to the API's base path, as on the wire;
// reqBody is the request's body (an empty acknowledgement answer is rebuilt
// from it, as the client does) and h the answer's headers. An answer to no
// operation of the contract, or not 2xx, is returned as it is.
func WireVariants(method, rel string, status int, h http.Header, reqBody, body []byte) (int, []byte, []string) {
	op := operationOf(method, rel)
	if op == nil || status < 200 || status > 299 {
		return status, body, nil
	}
	var found []string
	if op.shape == shapeAck {
		if len(bytes.TrimSpace(body)) > 0 {
			return status, body, nil
		}
		found = append(found, VariantEmptyAck)
	} else if op.shape == shapeList || op.shape == shapeFind {
		found = listFindVariants(op, body)
	}
	if len(found) == 0 {
		return status, body, nil
	}
	out, changed := normalizeBody(op, body, reqBody, rel, h, time.Now)
	if changed && status == http.StatusNoContent {
		status = http.StatusOK
	}
	return status, out, found
}

// listFindVariants names the variants of a list or find answer, deciding
// exactly what needsRewrite only guesses.
func listFindVariants(op *operation, body []byte) []string {
	tasks := op.object == "Task"
	if !needsRewrite(op, body, tasks) {
		return nil
	}
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	var root map[string]any
	if d.Decode(&root) != nil || root == nil {
		return nil
	}
	var found []string
	if op.shape == shapeFind && !tasks {
		if _, wrapped := root["data"]; !wrapped {
			found = append(found, VariantBareFind)
			root = map[string]any{"data": root}
		}
	}
	if op.shape == shapeList {
		switch paging := root["paging"].(type) {
		case nil: // absent or null
			found = append(found, VariantNextAbsent)
		case map[string]any:
			if next, ok := paging["next"]; !ok || next == "" {
				found = append(found, VariantNextAbsent)
			}
		}
	}
	if !tasks {
		flat := false
		switch data := root["data"].(type) {
		case map[string]any:
			flat = hasFlatRefs(data)
		case []any:
			for _, o := range data {
				if m, ok := o.(map[string]any); ok && hasFlatRefs(m) {
					flat = true
					break
				}
			}
		}
		if flat {
			found = append(found, VariantFlatReference)
		}
	}
	return found
}

// hasFlatRefs reports whether wrapRefs would wrap a reference of obj.
func hasFlatRefs(obj map[string]any) bool {
	isFlat := func(v any) bool {
		m, ok := v.(map[string]any)
		if !ok || len(m) == 0 {
			return false
		}
		_, wrapped := m["$sys"]
		return !wrapped
	}
	for k, v := range obj {
		if !isRefKey(k) {
			continue
		}
		switch v := v.(type) {
		case map[string]any:
			if isFlat(v) {
				return true
			}
		case []any:
			for _, e := range v {
				if isFlat(e) {
					return true
				}
			}
		}
	}
	return false
}
