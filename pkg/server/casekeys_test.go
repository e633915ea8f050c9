package server_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/interop-data/interop/gen/apiserver"
	"github.com/interop-data/interop/pkg/server"
)

// Issue 20, item 3: encoding/json fills a field from a key that differs
// from its name only by case (and the last one wins), while the validator
// reads keys exactly. Such keys are refused with a 400 naming them, so a
// handler decodes exactly what was validated.
func TestCaseVariantKeysAreRefused(t *testing.T) {
	t.Parallel()
	one := base + "/tasks/" + uuid.NewString() + "/ack"
	id := uuid.NewString()
	long := strings.Repeat("x", 100_000)
	for _, c := range []struct {
		name, path, body, pointer string
	}{
		{"status overridden by STATUS", one, `{"status":"retry","STATUS":"success"}`, "/STATUS"},
		{"message past its maxLength", one, `{"status":"error","message":"ok","MESSAGE":"` + long + `"}`, "/MESSAGE"},
		{"Unicode case folding", one, `{"status":"retry","ſtatus":"success"}`, "/ſtatus"},
		{"escaped key", one, `{"status":"retry","\u0053tatus":"success"}`, "/Status"},
		{"in a group item", base + "/tasks/ack", `[{"task_id":"` + id + `","status":"retry"},{"task_id":"` + id + `","status":"retry","Status":"success"}]`, "/1/Status"},
		{"message of a group item", base + "/tasks/ack", `[{"task_id":"` + id + `","status":"error","message":"ok","MESSAGE":"` + long + `"}]`, "/0/MESSAGE"},
	} {
		for _, validation := range []bool{true, false} {
			called := false
			impl := &caseFake{ack: func() { called = true }}
			e := newEnv(t, impl, server.WithRequestValidation(validation))
			rec := e.do("PUT", c.path, c.body)
			got := wantError(t, rec, http.StatusBadRequest, server.CodeInvalidBody)
			if !strings.Contains(got.Details, `"`+c.pointer+`"`) {
				t.Errorf("%s (validation %v): details %q do not name %q", c.name, validation, got.Details, c.pointer)
			}
			if called {
				t.Errorf("%s (validation %v): the handler ran", c.name, validation)
			}
		}
	}
}

// caseFake acknowledges tasks, telling the test when its handler runs.
type caseFake struct {
	server.Unimplemented
	ack func()
}

func (f *caseFake) AcknowledgeTask(context.Context, apiserver.AcknowledgeTaskRequestObject) (apiserver.AcknowledgeTaskResponseObject, error) {
	f.ack()
	return nil, &server.Error{Status: http.StatusNotFound, Code: server.CodeNotFound, Message: "no such task"}
}

func (f *caseFake) AcknowledgeTasks(context.Context, apiserver.AcknowledgeTasksRequestObject) (apiserver.AcknowledgeTasksResponseObject, error) {
	f.ack()
	return nil, &server.Error{Status: http.StatusNotFound, Code: server.CodeNotFound, Message: "no such task"}
}
