package client

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/google/uuid"

	"github.com/interop-data/interop/gen/models"
	"github.com/interop-data/interop/internal/exactjson"
)

// Issue 20, item 3, the client's half: a response key that differs from a
// field's name only by case would fill the field (encoding/json matches
// without case; the last key wins), so a receipt validated as an error
// would read as a success. In every validation mode it is
// ErrInvalidResponse naming the key instead.
func TestCaseVariantResponseKeysAreRefused(t *testing.T) {
	t.Parallel()
	f := newFakeAPI(t)
	task := uuid.NewString()
	receipt := `{"task_id":"` + task + `","status":"error","acknowledged_at":"2025-11-16T12:00:00Z","STATUS":"success"}`
	f.handle("PUT", "/tasks/{id}/ack", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"data":` + receipt + `}`))
	})
	f.handle("PUT", "/tasks/ack", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"data":[` + receipt + `]}`))
	})
	f.handle("GET", "/tasks", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"data":[{"lifecycle_event":{"action":"tenant_added","id":"` + task + `","tenant_id":"` + task + `","sequence":1,"created_at":"2025-11-16T12:00:00Z","ID":"` + uuid.NewString() + `"}}],"paging":{"next":null}}`))
	})
	id := uuid.MustParse(task)
	for _, mode := range []ValidationMode{ValidationOff, ValidationReport, ValidationEnforce} {
		c := f.client(t, nil, WithValidation(mode))
		ctx := context.Background()
		r, err := c.AcknowledgeTask(ctx, id, models.TaskAck{Status: models.Error, Message: "m"})
		wantKeyError(t, mode, "single", r, err)
		rs, err := c.AcknowledgeTasks(ctx, []models.TaskAckGroupItem{{TaskID: id, Status: models.Error, Message: "m"}})
		wantKeyError(t, mode, "group", rs, err)
		tasks, err := c.ListTasks(ctx, nil)
		wantKeyError(t, mode, "tasks", tasks, err)
	}
}

func wantKeyError[T any](t *testing.T, mode ValidationMode, what string, got T, err error) {
	t.Helper()
	var ke *exactjson.KeyError
	if !errors.Is(err, ErrInvalidResponse) && !errors.As(err, &ke) {
		t.Errorf("mode %v, %s: %v (%+v), want ErrInvalidResponse", mode, what, err, got)
		return
	}
	if mode == ValidationOff && !errors.As(err, &ke) {
		t.Errorf("mode %v, %s: %v, want the key named", mode, what, err)
	}
}
