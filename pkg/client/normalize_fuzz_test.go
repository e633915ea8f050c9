package client

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"
	"time"
)

// FuzzNormalize feeds any body to the wire tolerance as the answer of each
// kind of operation. It must not panic; what it rewrites must be JSON; and
// its rewrite must be final (normalizing the result again changes nothing).
func FuzzNormalize(f *testing.F) {
	for _, wc := range wireCases {
		f.Add([]byte(wc.variant))
		f.Add([]byte(wc.canonical))
	}
	f.Add([]byte(`{"data":[{"$parent":[{"id":1},{"$sys":{}}],"$x":{}}],"paging":null}`))
	f.Add([]byte(`{"paging":{"next":7}}`))
	f.Add([]byte(`[{"$sys"`))
	f.Add([]byte(`"$parent":{"id"`))
	ops := []*operation{operationOf("GET", "/rostering/persons"), operationOf("GET", "/rostering/orgs/x"),
		operationOf("GET", "/tasks/admin"), operationOf("PUT", "/tasks/x/ack"), operationOf("PUT", "/tasks/ack")}
	now := func() time.Time { return time.Unix(0, 0) }
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, op := range ops {
			req := []byte(`{"status":"success"}`)
			if op.group {
				req = []byte(`[{"task_id":"` + taskA + `","status":"success"}]`)
			}
			out, changed := normalizeBody(op, body, req, "/tasks/"+taskA+"/ack", http.Header{}, now)
			if !changed {
				if !bytes.Equal(out, body) {
					t.Fatalf("%s: unchanged but different", op.id)
				}
				continue
			}
			if !json.Valid(out) {
				t.Fatalf("%s: rewrote %q into invalid JSON %q", op.id, body, out)
			}
			if again, changed := normalizeBody(op, out, req, "/tasks/"+taskA+"/ack", http.Header{}, now); changed && !bytes.Equal(again, out) {
				t.Fatalf("%s: not final:\n%s\n%s", op.id, out, again)
			}
		}
	})
}
