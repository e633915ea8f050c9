package client

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/interop-data/interop/pkg/contract"
)

// The wire tolerance. DataSync deployments answer in more than one shape
// (the vendor's 2022 description, its 2020 client, its 2025 documentation),
// and a client cannot know which one it talks to. normalizer rewrites every
// documented variant of a response into the contract's canonical shape
// before validation and decoding, so that the caller gets the same typed
// value either way and, in ValidationEnforce, the variants are not
// violations while anything else still is. The variants (x-decision
// wire-tolerance in api/openapi.yaml):
//
//   - a flat reference ({"id", "type", "label", "org_type"}, the 2022 RefType)
//     where the contract has the $sys-wrapped one ({"$sys": {...}}): wrapped;
//   - a find answering the bare object instead of {"data": {...}}: wrapped;
//   - a list without paging, or with next absent, empty or null: paging.next
//     becomes null (the last page);
//   - an acknowledgement answered 200 or 204 with an empty body (2022): the
//     receipt is made from the request (task id, status) and the response's
//     Date (else the time it arrived);
//   - unknown values of enumerations in responses (the contract declares
//     TaskAckReceipt.status open) and unknown fields: accepted as they are.

// shape is what an operation's successful answer looks like.
type shape int

const (
	shapeOther shape = iota
	shapeList        // {"data": [...], "paging": {"next": ...}}
	shapeFind        // {"data": {...}}
	shapeAck         // {"data": receipt} or {"data": [receipt, ...]}
)

// operation is one operation of the contract; the table (operations) is
// generated from the spec.
type operation struct {
	id, method, path string
	shape            shape
	object           string // the schema of data (its items for a list)
	group            bool   // an acknowledgement of a group
}

// operationOf finds the operation of a request path relative to the base
// URL (escaped, as on the wire). It matches with the contract's router, the
// one the validator uses, so that the two layers never disagree on which
// operation a request is (literal segments win over parameters:
// /tasks/admin/ack over /tasks/admin/{id}).
func operationOf(method, rel string) *operation {
	c, err := contract.Shared()
	if err != nil {
		return nil
	}
	op, _, err := c.Find(method, rel)
	if err != nil {
		return nil
	}
	return operationByID[op.ID]
}

// operationByID indexes the generated table.
var operationByID = func() map[string]*operation {
	m := make(map[string]*operation, len(operations))
	for i := range operations {
		m[operations[i].id] = &operations[i]
	}
	return m
}()

// requestOperation is the operation of req, a request under basePath (the
// base URL's path without its trailing slash), or nil, and the request's
// path relative to basePath.
func requestOperation(req *http.Request, basePath string) (*operation, string) {
	rel, ok := relPath(req.URL, basePath)
	if !ok {
		return nil, ""
	}
	return operationOf(req.Method, rel), rel
}

// normalizer is the http.RoundTripper that rewrites the documented wire
// variants of responses into the canonical shape. It sits below validation.
type normalizer struct {
	next     http.RoundTripper
	basePath string
	now      func() time.Time
}

func (n *normalizer) RoundTrip(req *http.Request) (*http.Response, error) {
	op, rel := requestOperation(req, n.basePath)
	var reqBody []byte
	if op != nil && op.shape == shapeAck && req.Body != nil && req.Body != http.NoBody {
		b, err := io.ReadAll(req.Body)
		_ = req.Body.Close()
		if err != nil {
			return nil, err
		}
		reqBody = b
		req.Body = io.NopCloser(bytes.NewReader(b))
	}
	resp, err := n.next.RoundTrip(req)
	if err != nil || op == nil || resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return nil, err
	}
	if out, changed := normalizeBody(op, body, reqBody, rel, resp.Header, n.now); changed {
		body = out
		if resp.StatusCode == http.StatusNoContent {
			resp.StatusCode, resp.Status = http.StatusOK, "200 OK"
		}
		resp.Header = resp.Header.Clone()
		resp.Header.Set("Content-Type", "application/json")
		resp.Header.Del("Content-Encoding")
		resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
		resp.ContentLength = int64(len(body))
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, nil
}

// normalizeBody returns the canonical form of a 2xx body of op and whether
// it differs from body. Bodies that are not JSON are left to validation and
// decoding to refuse.
func normalizeBody(op *operation, body, reqBody []byte, rel string, h http.Header, now func() time.Time) ([]byte, bool) {
	if op.shape == shapeAck {
		if len(bytes.TrimSpace(body)) > 0 {
			return body, false
		}
		out := ackReceipts(op, reqBody, rel, h, now)
		return out, out != nil
	}
	if op.shape != shapeList && op.shape != shapeFind {
		return body, false
	}
	tasks := op.object == "Task"
	if !needsRewrite(op, body, tasks) {
		return body, false
	}
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	var doc any
	if d.Decode(&doc) != nil {
		return body, false
	}
	root, ok := doc.(map[string]any)
	if !ok {
		return body, false
	}
	if op.shape == shapeFind && !tasks {
		if _, wrapped := root["data"]; !wrapped {
			root = map[string]any{"data": root}
		}
	}
	if op.shape == shapeList {
		// Only absence (or null) of paging, and absence or "" of next, are
		// variants; any other value is left for validation to judge.
		if p, ok := root["paging"]; !ok || p == nil {
			root["paging"] = map[string]any{}
		}
		if paging, ok := root["paging"].(map[string]any); ok {
			if next, ok := paging["next"]; !ok || next == "" {
				paging["next"] = nil
			}
		}
	}
	if !tasks {
		switch data := root["data"].(type) {
		case map[string]any:
			wrapRefs(data)
		case []any:
			for _, o := range data {
				if m, ok := o.(map[string]any); ok {
					wrapRefs(m)
				}
			}
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if enc.Encode(root) != nil {
		return body, false
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), true
}

// needsRewrite is the cheap test that keeps canonical bodies (the common
// case) from being decoded twice: it looks for the marks of each variant
// without parsing.
func needsRewrite(op *operation, body []byte, tasks bool) bool {
	if op.shape == shapeList && !pagingCanonical(body) {
		var top struct {
			Paging *struct {
				Next json.RawMessage `json:"next"` // nil when absent
			} `json:"paging"`
		}
		// A body that is not JSON is left as it is.
		if json.Unmarshal(body, &top) != nil {
			return false
		}
		if top.Paging == nil || top.Paging.Next == nil || string(top.Paging.Next) == `""` {
			return true
		}
	}
	if op.shape == shapeFind && !tasks && !bytes.HasPrefix(bytes.TrimLeft(body, " \t\r\n"), []byte(`{"data"`)) {
		var top map[string]json.RawMessage
		if json.Unmarshal(body, &top) != nil {
			return false
		}
		if _, ok := top["data"]; !ok {
			return true
		}
	}
	return !tasks && hasFlatRef(body)
}

// pagingCanonical is the fast test for the common case: the last "paging"
// member of body is an object whose first member is next, null or a
// non-empty string. When it fails, needsRewrite decodes the top level.
func pagingCanonical(body []byte) bool {
	i := bytes.LastIndex(body, []byte(`"paging"`))
	if i < 0 {
		return false
	}
	k := skipSpace(body, i+len(`"paging"`))
	for _, want := range []string{":", "{", `"next"`, ":"} {
		if !bytes.HasPrefix(body[k:], []byte(want)) {
			return false
		}
		k = skipSpace(body, k+len(want))
	}
	return bytes.HasPrefix(body[k:], []byte("null")) || bytes.HasPrefix(body[k:], []byte(`"`)) && !bytes.HasPrefix(body[k:], []byte(`""`))
}

// hasFlatRef reports whether a reference member ("$parent", "$schools", ...)
// of body holds an object, or an array whose first element is an object,
// that does not start with "$sys": the flat reference shape. A false
// positive only costs the full rewrite, which is exact.
func hasFlatRef(body []byte) bool {
	for i := 0; ; {
		j := bytes.Index(body[i:], []byte(`"$`))
		if j < 0 {
			return false
		}
		i += j + 1
		end := bytes.IndexByte(body[i:], '"')
		if end < 0 {
			return false
		}
		key := string(body[i : i+end])
		i += end + 1
		if !isRefKey(key) {
			continue
		}
		k := skipSpace(body, i)
		if k >= len(body) || body[k] != ':' {
			continue // a string value, not a member name
		}
		k = skipSpace(body, k+1)
		if k < len(body) && body[k] == '[' {
			k = skipSpace(body, k+1)
		}
		if k >= len(body) || body[k] != '{' {
			continue
		}
		k = skipSpace(body, k+1)
		if !bytes.HasPrefix(body[k:], []byte(`"$sys"`)) && !bytes.HasPrefix(body[k:], []byte(`}`)) {
			return true
		}
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t') {
		i++
	}
	return i
}

// isRefKey reports whether an object member holds references: every
// $-prefixed member but $sys, $ext and $membership (which sits inside $sys).
func isRefKey(k string) bool {
	return strings.HasPrefix(k, "$") && k != "$sys" && k != "$ext" && k != "$membership" && !strings.Contains(k, ".")
}

// wrapRefs wraps the flat references of one data object.
func wrapRefs(obj map[string]any) {
	for k, v := range obj {
		if !isRefKey(k) {
			continue
		}
		switch v := v.(type) {
		case map[string]any:
			obj[k] = wrapRef(v)
		case []any:
			for i, e := range v {
				if m, ok := e.(map[string]any); ok {
					v[i] = wrapRef(m)
				}
			}
		}
	}
}

// wrapRef returns the $sys-wrapped form of a flat reference; a wrapped one
// (or an empty object) is returned as it is.
func wrapRef(ref map[string]any) map[string]any {
	if _, ok := ref["$sys"]; ok || len(ref) == 0 {
		return ref
	}
	return map[string]any{"$sys": ref}
}

// ackReceipts makes the receipt body of an acknowledgement answered without
// one (the 2022 wire), from the acknowledgement the client sent. nil when
// the request cannot be read (the empty body then fails decoding as before).
func ackReceipts(op *operation, reqBody []byte, rel string, h http.Header, now func() time.Time) []byte {
	at := now().UTC()
	if d, err := http.ParseTime(h.Get("Date")); err == nil {
		at = d.UTC()
	}
	type receipt struct {
		TaskID         string    `json:"task_id"`
		Status         string    `json:"status"`
		AcknowledgedAt time.Time `json:"acknowledged_at"`
	}
	type ack struct {
		TaskID string `json:"task_id"`
		Status string `json:"status"`
	}
	var out any
	if op.group {
		var acks []ack
		if json.Unmarshal(reqBody, &acks) != nil {
			return nil
		}
		rs := make([]receipt, len(acks))
		for i, a := range acks {
			rs[i] = receipt{TaskID: a.TaskID, Status: a.Status, AcknowledgedAt: at}
		}
		out = map[string]any{"data": rs}
	} else {
		var a ack
		if json.Unmarshal(reqBody, &a) != nil {
			return nil
		}
		// The path's id is the task's: /tasks/{id}/ack, /tasks/admin/{id}/ack.
		parts := strings.Split(strings.Trim(rel, "/"), "/")
		if len(parts) >= 2 {
			a.TaskID = parts[len(parts)-2]
		}
		out = map[string]any{"data": receipt{TaskID: a.TaskID, Status: a.Status, AcknowledgedAt: at}}
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil
	}
	return b
}
