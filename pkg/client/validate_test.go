package client

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/interop-data/interop/pkg/contract"
)

// brokenPersons serves a page whose second person lacks $sys.person_type,
// which the contract requires.
func brokenPersons(f *fakeAPI) {
	f.handle("GET", "/rostering/persons", func(w http.ResponseWriter, r *http.Request) {
		page := personsPage(1, 2, nil)
		p := page["data"].([]any)[1].(map[string]any)
		delete(p["$sys"].(map[string]any), "person_type")
		writeJSON(w, 200, page)
	})
}

func TestValidationModes(t *testing.T) {
	f := newFakeAPI(t)
	brokenPersons(f)
	ctx := context.Background()

	t.Run("off", func(t *testing.T) {
		var reports atomic.Int32
		c := f.client(t, nil, WithValidation(ValidationOff), WithValidationReporter(func(*ValidationError) { reports.Add(1) }))
		got, err := Collect(c.Persons(ctx, nil))
		if err != nil || len(got) != 2 || reports.Load() != 0 {
			t.Fatalf("%d persons, %v, %d reports", len(got), err, reports.Load())
		}
	})
	t.Run("report", func(t *testing.T) {
		var mu sync.Mutex
		var reports []*ValidationError
		c := f.client(t, nil, WithValidation(ValidationReport), WithValidationReporter(func(e *ValidationError) {
			mu.Lock()
			reports = append(reports, e)
			mu.Unlock()
		}))
		got, err := Collect(c.Persons(ctx, nil))
		if err != nil || len(got) != 2 {
			t.Fatalf("report mode must not fail the call: %d persons, %v", len(got), err)
		}
		if len(reports) != 1 {
			t.Fatalf("%d reports", len(reports))
		}
		r := reports[0]
		if r.Operation != "listPersons" || r.Direction != "response" || r.Status != 200 || r.Rule != "required" ||
			!strings.Contains(r.Field, "/data/1/$sys") {
			t.Fatalf("%+v", r)
		}
	})
	t.Run("enforce", func(t *testing.T) {
		c := f.client(t, nil, WithValidation(ValidationEnforce))
		got, err := Collect(c.Persons(ctx, nil))
		var ve *ValidationError
		if len(got) != 0 || !errors.Is(err, ErrContractViolation) || !errors.As(err, &ve) {
			t.Fatalf("%d persons, err %v", len(got), err)
		}
		msg := ve.Error()
		for _, want := range []string{"listPersons", "response 200", "person_type", `"required"`} {
			if !strings.Contains(msg, want) {
				t.Errorf("message %q lacks %q", msg, want)
			}
		}
	})
}

func TestValidationRequestNotSentInEnforce(t *testing.T) {
	f := newFakeAPI(t)
	var calls atomic.Int32
	f.handle("GET", "/rostering/persons", func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		writeJSON(w, 200, personsPage(1, 1, nil))
	})
	c := f.client(t, nil)
	_, err := Collect(c.Persons(context.Background(), &ListOptions{PageSize: 5000}))
	var ve *ValidationError
	if !errors.As(err, &ve) || ve.Direction != "request" || !strings.Contains(ve.Field, "page_size") || calls.Load() != 0 {
		t.Fatalf("err %v (%+v), calls %d", err, ve, calls.Load())
	}
	// Report mode sends it anyway and lets the server judge.
	var reported atomic.Int32
	c = f.client(t, nil, WithValidation(ValidationReport), WithValidationReporter(func(*ValidationError) { reported.Add(1) }))
	if _, err := Collect(c.Persons(context.Background(), &ListOptions{PageSize: 5000})); err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 1 || reported.Load() != 1 {
		t.Fatalf("calls %d reported %d", calls.Load(), reported.Load())
	}
}

func TestValidationUndeclaredStatusAndOffContractPath(t *testing.T) {
	f := newFakeAPI(t)
	f.handle("GET", "/rostering/persons", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusTeapot, "teapot", "short and stout")
	})
	f.handle("GET", "/rostering/persons/{id}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(502)
		_, _ = w.Write([]byte("<h1>Bad gateway</h1>"))
	})
	c := f.client(t, nil, WithRetryPolicy(NoRetries()))
	_, err := Collect(c.Persons(context.Background(), nil))
	var ve *ValidationError
	if !errors.As(err, &ve) || ve.Rule != "status" || ve.Status != 418 {
		t.Fatalf("err = %v", err)
	}
	// A gateway's 5xx is an APIError even in enforce mode.
	if _, err := c.FindPerson(context.Background(), personID); !errors.Is(err, ErrServer) || errors.Is(err, ErrContractViolation) {
		t.Fatalf("err = %v", err)
	}
	// A path outside the contract, reached through the shared HTTP client.
	req, _ := http.NewRequest(http.MethodGet, f.base+"/not/in/the/spec", nil)
	if _, err := c.HTTPClient().Do(req); !errors.Is(err, ErrContractViolation) {
		t.Fatalf("err = %v", err)
	}
	req, _ = http.NewRequest(http.MethodGet, f.srv.URL+"/elsewhere", nil)
	if _, err := c.HTTPClient().Do(req); !errors.Is(err, ErrContractViolation) {
		t.Fatalf("err = %v", err)
	}
}

func TestValidationAnyHostAndMount(t *testing.T) {
	// The same server reached under two mount points and two host names
	// (127.0.0.1 and localhost) validates identically.
	f := newFakeAPI(t)
	f.mux.HandleFunc("GET /v2/interop/data/rostering/persons", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, personsPage(1, 3, nil))
	})
	f.handle("GET", "/rostering/persons", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, personsPage(1, 3, nil))
	})
	for _, base := range []string{
		f.srv.URL + "/v2/interop/data",
		f.base,
		strings.Replace(f.base, "127.0.0.1", "localhost", 1),
	} {
		c, err := New(base, WithValidation(ValidationEnforce), WithBearerToken("x"))
		if err != nil {
			t.Fatal(err)
		}
		if got, err := Collect(c.Persons(context.Background(), nil)); err != nil || len(got) != 3 {
			t.Fatalf("%s: %d, %v", base, len(got), err)
		}
	}
}

// Under allOf the field is the exact pointer of the offending value, not the
// outer path repeated once per nesting (it was
// /data/0/data/0/$schools/0/$sys for /data/0/$schools/0/$sys).
func TestValidationFieldIsTheExactPointer(t *testing.T) {
	f := newFakeAPI(t)
	f.handle("GET", "/rostering/persons", func(w http.ResponseWriter, r *http.Request) {
		page := personsPage(1, 2, nil)
		p := page["data"].([]any)[1].(map[string]any)
		p["$schools"] = []any{map[string]any{"$sys": map[string]any{"id": "not-a-uuid", "org_type": "School", "$membership": map[string]any{}}}}
		writeJSON(w, 200, page)
	})
	c := f.client(t, nil, WithValidation(ValidationEnforce))
	_, err := Collect(c.Persons(context.Background(), nil))
	var ve *ValidationError
	if !errors.As(err, &ve) || ve.Field != "/data/1/$schools/0/$sys/id" || ve.Rule != "format" || !strings.Contains(ve.Reason, "uuid") {
		t.Fatalf("err = %v (%+v)", err, ve)
	}
}

// In enforce mode a violation in an error answer keeps the answer's class:
// an undeclared 413 still says "bad request" (so a consumer splits an
// oversized group ack) and is still a contract violation.
// (Once the spec declares 413 for the operation, the first undeclared status
// of the bad-request class is used instead.)
func TestValidationKeepsTheClassOfAnErrorAnswer(t *testing.T) {
	cc, err := contract.Shared()
	if err != nil {
		t.Fatal(err)
	}
	status := 0
	for _, st := range []int{413, 415, 422} {
		if cc.Operation("acknowledgeTasks").Route.Operation.Responses.Status(st) == nil {
			status = st
			break
		}
	}
	if status == 0 {
		t.Skip("the spec declares every status of the bad-request class for acknowledgeTasks")
	}
	f := newFakeAPI(t)
	f.handle("PUT", "/tasks/ack", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, status, "payload_too_large", "request body is too large")
	})
	c := f.client(t, nil, WithValidation(ValidationEnforce), WithRetryPolicy(NoRetries()))
	req, err := http.NewRequest("PUT", f.base+"/tasks/ack", strings.NewReader(`[{"task_id":"2a4a2e06-7755-43bb-9766-4f398079ef8c","status":"success"}]`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	_, err = c.HTTPClient().Do(req)
	t.Logf("undeclared %d: %v", status, err)
	err = unwrapURLError(err)
	var ve *ValidationError
	var ae *APIError
	if !errors.As(err, &ve) || !errors.Is(err, ErrContractViolation) || !errors.Is(err, ErrBadRequest) ||
		!errors.As(err, &ae) || ae.StatusCode != status || ae.Code != "payload_too_large" {
		t.Fatalf("err = %v (%+v)", err, ve)
	}
}
