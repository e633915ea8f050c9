package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/google/uuid"

	"github.com/interop-data/interop/gen/apiserver"
	"github.com/interop-data/interop/gen/models"
	"github.com/interop-data/interop/internal/specroute"
	"github.com/interop-data/interop/pkg/contract"
	"github.com/interop-data/interop/pkg/server"
)

// Issue 9, item 8: every operation that takes a body declares the 413 and
// 415 the kit answers, and the spec states the byte limit the kit enforces.
func TestBodyLimitAndMediaTypeAreDeclared(t *testing.T) {
	doc, err := contract.Load()
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := doc.Info.Extensions["x-request-body-limit"].(float64); int64(got) != server.DefaultBodyLimit {
		t.Errorf("spec x-request-body-limit = %v, kit DefaultBodyLimit = %d", doc.Info.Extensions["x-request-body-limit"], server.DefaultBodyLimit)
	}
	if got, _ := doc.Info.Extensions["x-max-json-depth"].(float64); int(got) != server.DefaultMaxJSONDepth {
		t.Errorf("spec x-max-json-depth = %v, kit DefaultMaxJSONDepth = %d", doc.Info.Extensions["x-max-json-depth"], server.DefaultMaxJSONDepth)
	}
	if got, _ := doc.Info.Extensions["x-max-json-elements"].(float64); int(got) != server.DefaultMaxJSONElements {
		t.Errorf("spec x-max-json-elements = %v, kit DefaultMaxJSONElements = %d", doc.Info.Extensions["x-max-json-elements"], server.DefaultMaxJSONElements)
	}
	n := 0
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if op.RequestBody == nil {
				continue
			}
			n++
			for _, status := range []int{413, 415} {
				if op.Responses.Status(status) == nil {
					t.Errorf("%s %s (%s) takes a body but does not declare %d", method, path, op.OperationID, status)
				}
			}
		}
	}
	if n == 0 {
		t.Fatal("no operation takes a body")
	}
}

// wantDeclared checks that rec is what the spec declares for method path.
func wantDeclared(t *testing.T, method, path string, rec *httptest.ResponseRecorder) {
	t.Helper()
	_, router, err := specroute.NewRouter()
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(method, "http://example.org"+path, nil)
	route, params, err := router.FindRoute(req)
	if err != nil {
		t.Fatal(err)
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: specroute.FilterOptions()}
	rin := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: rec.Code, Header: rec.Header(),
		Body: io.NopCloser(strings.NewReader(rec.Body.String())), Options: specroute.FilterOptions()}
	rin.Options.IncludeResponseStatus = true
	if err := openapi3filter.ValidateResponse(context.Background(), rin); err != nil {
		t.Errorf("%d of %s %s does not match the spec: %v", rec.Code, method, path, err)
	}
}

func groupAck(items, messageLen int) string {
	acks := make([]map[string]string, items)
	for i := range acks {
		acks[i] = map[string]string{"task_id": uuid.NewString(), "status": "error", "message": strings.Repeat("m", messageLen)}
	}
	b, _ := json.Marshal(acks)
	return string(b)
}

// The spec-valid group acknowledgement (300 items of 4,000
// characters, 1.2 MB) and a full group of 2000 with 950-character messages
// (2.05 MB) are admitted; the largest plain-text group the schemas allow (2000
// of 4096, 8.4 MB) and one byte over the stated limit are a declared 413 (the
// decision request-body-limit), and a wrong Content-Type a declared 415.
func TestBodyLimitAdmitsTheLargestSpecBody(t *testing.T) {
	var got int
	e := newEnv(t, &groupFake{ack: func(_ context.Context, r apiserver.AcknowledgeTasksRequestObject) {
		got = len(*r.Body)
	}})
	path := base + "/tasks/ack"
	for _, c := range []struct{ items, msg int }{{300, 4000}, {2000, 950}} {
		body := groupAck(c.items, c.msg)
		rec := e.do("PUT", path, body)
		if rec.Code != 200 || got != c.items {
			t.Fatalf("%d items of %d characters (%d bytes): %d, handler saw %d: %.300s", c.items, c.msg, len(body), rec.Code, got, rec.Body)
		}
	}
	got = 0
	oneOver := `[{"task_id":"` + uuid.NewString() + `","status":"error","message":"`
	oneOver += strings.Repeat("m", server.DefaultBodyLimit+1-len(oneOver)-len(`"}]`)) + `"}]`
	for _, over := range []string{groupAck(2000, 4096), oneOver} {
		rec := e.do("PUT", path, over)
		if got := wantError(t, rec, http.StatusRequestEntityTooLarge, server.CodePayloadTooLarge); details(got) != fmt.Sprintf("the limit is %d bytes", server.DefaultBodyLimit) {
			t.Errorf("413 details %q", details(got))
		}
		wantDeclared(t, "PUT", path, rec)
	}
	if got != 0 {
		t.Errorf("the handler saw a body over the limit (%d items)", got)
	}
	rec := e.do("PUT", path, groupAck(1, 1), "Content-Type", "text/plain")
	wantError(t, rec, http.StatusUnsupportedMediaType, server.CodeUnsupportedMediaType)
	wantDeclared(t, "PUT", path, rec)
}

// groupFake acknowledges any group with receipts.
type groupFake struct {
	server.Unimplemented
	ack func(context.Context, apiserver.AcknowledgeTasksRequestObject)
}

func (f *groupFake) AcknowledgeTasks(ctx context.Context, r apiserver.AcknowledgeTasksRequestObject) (apiserver.AcknowledgeTasksResponseObject, error) {
	f.ack(ctx, r)
	out := apiserver.AcknowledgeTasks200JSONResponse{}
	for _, a := range *r.Body {
		out.Data = append(out.Data, models.TaskAckReceipt{TaskID: a.TaskID, Status: a.Status, AcknowledgedAt: time.Date(2025, 11, 16, 12, 0, 0, 0, time.UTC)})
	}
	return out, nil
}
