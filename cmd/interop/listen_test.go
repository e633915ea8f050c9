package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/interop-data/interop/pkg/listen"
	"github.com/interop-data/interop/pkg/reference/referencetest"
)

// interop listen --jsonl prints every task of the queue, one per line,
// and stops cleanly when its context ends (SIGINT/SIGTERM).
func TestListenCommandJSONLines(t *testing.T) {
	t.Parallel()
	env := referencetest.Start(t, referencetest.WithTenants(1))
	want := len(adminTaskIDs(t, env))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errs syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"listen", "--jsonl", "--base-url", env.URL, "--client-id", env.Tenants[0].ClientID,
			"--client-secret", env.Tenants[0].ClientSecret}, &out, &errs)
	}()
	for deadline := time.Now().Add(60 * time.Second); strings.Count(out.String(), "\n") < want; {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d tasks printed:\n%s", strings.Count(out.String(), "\n"), want, errs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("exit %d: %s", code, errs.String())
	}
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		if !json.Valid([]byte(l)) {
			t.Fatalf("not a JSON line: %q", l)
		}
	}
	if left := adminTaskIDs(t, env); len(left) != 0 {
		t.Fatalf("%d tasks left in the queue after they were printed", len(left))
	}
}

// interop listen --forward-to posts signed deliveries.
func TestListenCommandForwards(t *testing.T) {
	t.Parallel()
	env := referencetest.Start(t, referencetest.WithTenants(1))
	want := len(adminTaskIDs(t, env))
	var mu sync.Mutex
	got, bad := 0, 0
	ep := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		if listen.Verify([]byte("hook-secret"), r.Header.Get(listen.HeaderSignature), b, time.Now(), time.Minute) != nil {
			bad++
		}
		got++
	}))
	defer ep.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errs syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"listen", "--forward-to", ep.URL, "--secret", "hook-secret", "--base-url", env.URL,
			"--client-id", env.Tenants[0].ClientID, "--client-secret", env.Tenants[0].ClientSecret}, &out, &errs)
	}()
	for deadline := time.Now().Add(60 * time.Second); ; {
		mu.Lock()
		n := got
		mu.Unlock()
		if n >= want && len(adminTaskIDs(t, env)) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d tasks delivered:\n%s", n, want, errs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("exit %d: %s", code, errs.String())
	}
	if bad != 0 {
		t.Fatalf("%d deliveries badly signed", bad)
	}
	if strings.Contains(errs.String(), env.Tenants[0].ClientSecret) || strings.Contains(errs.String(), "hook-secret") {
		t.Fatal("a secret is in the logs")
	}
}

func TestListenCommandFlags(t *testing.T) {
	t.Parallel()
	ok := []string{"--base-url", "http://127.0.0.1:1/v2/interop/data", "--client-id", "a", "--client-secret", "b"}
	for _, args := range [][]string{
		append([]string{"listen"}, ok...),                                         // neither --forward-to nor --jsonl
		append([]string{"listen", "--jsonl", "--forward-to", "http://x/"}, ok...), // both
		{"listen", "--jsonl"},
		append([]string{"listen", "--forward-to", "ftp://x/"}, ok...),
		append([]string{"listen", "--jsonl", "--concurrency", "0"}, ok...),
		append([]string{"listen", "--jsonl", "--base-url", "not a url"}, ok[2:]...),
	} {
		var out, errs syncBuffer
		if code := run(context.Background(), args, &out, &errs); code != 2 {
			t.Errorf("%v: exit %d, want 2\n%s", args, code, errs.String())
		}
	}
}

func adminTaskIDs(t *testing.T, env *referencetest.Env) []string {
	t.Helper()
	tok := env.Token(t, 0)
	var ids []string
	next := env.URL + "/tasks/admin?page_size=1000"
	for next != "" {
		var page struct {
			Data   []json.RawMessage `json:"data"`
			Paging struct {
				Next *string `json:"next"`
			} `json:"paging"`
		}
		if code := getJSON(t, next, tok, &page); code != 200 {
			t.Fatalf("GET %s: %d", next, code)
		}
		for _, d := range page.Data {
			ids = append(ids, string(d))
		}
		next = ""
		if page.Paging.Next != nil {
			next = *page.Paging.Next
		}
	}
	return ids
}
