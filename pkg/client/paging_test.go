package client

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/uuid"

	"github.com/interop-data/interop/gen/models"
	"github.com/interop-data/interop/internal/ops"
	"github.com/interop-data/interop/pkg/contract"
)

// servePages serves total persons in pages of the requested size, with
// absolute next links as the spec describes.
func servePages(f *fakeAPI, path string, total int, requests *atomic.Int32) {
	f.handle("GET", path, func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		page, _ := strconv.Atoi(r.URL.Query().Get("page"))
		size, _ := strconv.Atoi(r.URL.Query().Get("page_size"))
		if size == 0 {
			size = 2000
		}
		from := page * size
		n := min(size, total-from)
		var next any
		if from+n < total {
			next = fmt.Sprintf("%s%s%s?page=%d&page_size=%d", f.srv.URL, mount, r.URL.Path[len(mount):], page+1, size)
		}
		writeJSON(w, 200, personsPage(from, max(n, 0), next))
	})
}

func TestIteratorFollowsNext(t *testing.T) {
	f := newFakeAPI(t)
	var requests atomic.Int32
	servePages(f, "/rostering/students", 7, &requests)
	c := f.client(t, nil)
	got, err := Collect(c.Students(context.Background(), &ListOptions{PageSize: 3}))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 7 || requests.Load() != 3 {
		t.Fatalf("%d persons in %d requests, want 7 in 3", len(got), requests.Load())
	}
	for i, p := range got {
		if p.LocalID != fmt.Sprintf("S%d", i) {
			t.Fatalf("item %d is %s", i, p.LocalID)
		}
	}
	// Starting page and early stop: break after 2 items reads one page.
	requests.Store(0)
	n := 0
	for p, err := range c.Students(context.Background(), &ListOptions{PageSize: 3, Page: 1}) {
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 && p.LocalID != "S3" {
			t.Fatalf("page 1 starts at %s", p.LocalID)
		}
		if n++; n == 2 {
			break
		}
	}
	if requests.Load() != 1 {
		t.Fatalf("%d requests after an early break", requests.Load())
	}
}

func TestIteratorStopsOnPagingLoop(t *testing.T) {
	f := newFakeAPI(t)
	var requests atomic.Int32
	f.handle("GET", "/rostering/persons", func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		// page 0 -> page 1 -> page 0 again (relative links resolve too).
		if r.URL.Query().Get("page") == "1" {
			writeJSON(w, 200, personsPage(2, 2, mount+"/rostering/persons?page_size=2"))
			return
		}
		writeJSON(w, 200, personsPage(0, 2, f.base+"/rostering/persons?page=1&page_size=2"))
	})
	c := f.client(t, nil)
	var items int
	var last error
	for _, err := range c.Persons(context.Background(), &ListOptions{PageSize: 2}) {
		if err != nil {
			last = err
			break
		}
		items++
	}
	if !errors.Is(last, ErrPagingLoop) || items != 4 || requests.Load() != 2 {
		t.Fatalf("items %d requests %d err %v", items, requests.Load(), last)
	}
}

func TestIteratorRefusesForeignNext(t *testing.T) {
	f := newFakeAPI(t)
	f.handle("GET", "/rostering/persons", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, personsPage(0, 1, "https://evil.example/v2/interop/data/rostering/persons?page=1"))
	})
	c := f.client(t, nil)
	_, err := Collect(c.Persons(context.Background(), nil))
	if !errors.Is(err, ErrForeignNext) {
		t.Fatalf("err = %v", err)
	}
}

func TestIteratorCancellationMidIteration(t *testing.T) {
	f := newFakeAPI(t)
	var requests atomic.Int32
	servePages(f, "/rostering/persons", 10, &requests)
	c := f.client(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var items int
	var last error
	for _, err := range c.Persons(ctx, &ListOptions{PageSize: 4}) {
		if err != nil {
			last = err
			break
		}
		if items++; items == 2 {
			cancel()
		}
	}
	if !errors.Is(last, context.Canceled) || items != 2 || requests.Load() != 1 {
		t.Fatalf("items %d requests %d err %v", items, requests.Load(), last)
	}
	// An already-cancelled context sends nothing.
	requests.Store(0)
	if _, err := Collect(c.Persons(ctx, nil)); !errors.Is(err, context.Canceled) || requests.Load() != 0 {
		t.Fatalf("err %v requests %d", err, requests.Load())
	}
}

func TestIteratorErrorsAndEmptyPages(t *testing.T) {
	f := newFakeAPI(t)
	org := uuid.MustParse("2a4a2e06-7755-43bb-9766-4f398079ef8c")
	f.handle("GET", "/rostering/orgs/{id}/students", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, 404, "not_found", "org not found")
	})
	f.handle("GET", "/rostering/teachers", func(w http.ResponseWriter, r *http.Request) {
		// An empty page ends the walk even if next is set.
		writeJSON(w, 200, map[string]any{"data": []any{}, "paging": map[string]any{"next": f.base + "/rostering/teachers?page=1"}})
	})
	c := f.client(t, nil)
	if _, err := Collect(c.StudentsForOrg(context.Background(), org, nil)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("err = %v", err)
	}
	if got, err := Collect(c.Teachers(context.Background(), nil)); err != nil || len(got) != 0 {
		t.Fatalf("%v %v", got, err)
	}
}

// TestEveryListIterator drives the iterator and the page reader of every
// list of the spec (the generated operation table, so a new list is covered
// without an edit here) against one fake that answers every path with two
// objects of the right type.
func TestEveryListIterator(t *testing.T) {
	f := newFakeAPI(t)
	org := uuid.MustParse("2a4a2e06-7755-43bb-9766-4f398079ef8c")
	doc, err := contract.Load()
	if err != nil {
		t.Fatal(err)
	}
	lists := ops.Lists()
	var seen sync.Map
	for _, l := range lists {
		// The first object of the spec's example of the list's answer.
		var body any
		if mt := doc.Paths.Find(l.Path).Get.Responses.Status(200).Value.Content.Get("application/json"); mt != nil {
			ex := mt.Example
			for _, e := range mt.Examples {
				if ex == nil && e.Value != nil {
					ex = e.Value.Value
				}
			}
			if m, ok := ex.(map[string]any); ok {
				if data, ok := m["data"].([]any); ok && len(data) > 0 {
					body = data[0]
				}
			}
		}
		if body == nil {
			t.Errorf("%s: the spec has no example of its answer with an object", l.ID)
			continue
		}
		f.handle("GET", l.Path, func(w http.ResponseWriter, r *http.Request) {
			seen.Store(l.ID, true)
			writeJSON(w, 200, map[string]any{"data": []any{body, body}, "paging": map[string]any{"next": nil}})
		})
	}
	c := f.client(t, nil)
	ctx := reflect.ValueOf(context.Background())
	opts := reflect.ValueOf(&ListOptions{PageSize: 10})
	for _, l := range lists {
		args := []reflect.Value{ctx}
		if l.HasID {
			args = append(args, reflect.ValueOf(org))
		}
		args = append(args, opts)
		if l.Client == "" {
			continue // a deprecated alias: no client helper by decision (paths-2022)
		}
		it := reflect.ValueOf(c).MethodByName(l.Client)
		pg := reflect.ValueOf(c).MethodByName(l.Client + "Page")
		if !it.IsValid() || !pg.IsValid() {
			t.Errorf("%s: the client has no %s and %sPage", l.ID, l.Client, l.Client)
			continue
		}
		// The iterator: an iter.Seq2[T, error], called with a yield that counts.
		seq := it.Call(args)[0]
		n := 0
		var iterErr error
		yield := reflect.MakeFunc(seq.Type().In(0), func(in []reflect.Value) []reflect.Value {
			if !in[1].IsNil() {
				iterErr = in[1].Interface().(error)
			}
			n++
			return []reflect.Value{reflect.ValueOf(true)}
		})
		seq.Call([]reflect.Value{yield})
		if iterErr != nil || n != 2 {
			t.Errorf("%s: %s yielded %d items, %v", l.ID, l.Client, n, iterErr)
		}
		// The page reader, from the first page.
		out := pg.Call(append(args, reflect.ValueOf(Cursor(""))))
		if err, _ := out[1].Interface().(error); err != nil || out[0].Elem().FieldByName("Data").Len() != 2 {
			t.Errorf("%s: %sPage: %v", l.ID, l.Client, err)
		}
		if _, ok := seen.Load(l.ID); !ok {
			t.Errorf("%s (GET %s) was not reached", l.ID, l.Path)
		}
	}
}

// A walk can resume: a 429 on the third page does not start the walk over.
// The caller keeps the cursor of the page that failed and reads on from it;
// a cursor to another origin is refused before any request.
func TestPageResumesFromCursor(t *testing.T) {
	f := newFakeAPI(t)
	var requests, refusals atomic.Int32
	f.handle("GET", "/rostering/students", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("page") == "2" && refusals.Add(1) == 1 {
			writeError(w, 429, "rate_limited", "too many requests")
			return
		}
		requests.Add(1)
		page, _ := strconv.Atoi(r.URL.Query().Get("page"))
		from, n := page*3, min(3, 8-page*3)
		var next any
		if from+n < 8 {
			next = fmt.Sprintf("%s%s/rostering/students?page=%d&page_size=3", f.srv.URL, mount, page+1)
		}
		writeJSON(w, 200, personsPage(from, n, next))
	})
	c := f.client(t, nil, WithRetryPolicy(NoRetries()))
	ctx := context.Background()
	var got []models.Person
	var at Cursor
	for {
		p, err := c.StudentsPage(ctx, &ListOptions{PageSize: 3}, at)
		if errors.Is(err, ErrRateLimited) {
			continue // resume from the same cursor, not from the start
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, p.Data...)
		if at = p.Next; at == "" {
			break
		}
	}
	if len(got) != 8 || got[7].LocalID != "S7" || requests.Load() != 3 || refusals.Load() != 2 {
		t.Fatalf("%d persons in %d pages after %d tries of page 2", len(got), requests.Load(), refusals.Load())
	}
	if _, err := c.StudentsPage(ctx, nil, Cursor("https://elsewhere.example/rostering/students?page=1")); !errors.Is(err, ErrForeignNext) {
		t.Fatalf("foreign cursor: %v", err)
	}
	if requests.Load() != 3 {
		t.Fatal("a foreign cursor was requested")
	}
}
