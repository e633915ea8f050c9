package sqlite

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/interop-data/interop/pkg/reference/store"
	"github.com/interop-data/interop/pkg/server"
	"github.com/interop-data/interop/pkg/server/auth"
)

// Issue 9, item 5: /readyz said ready on a full disk while every write
// failed. The disk is simulated by capping the file's pages (PRAGMA
// max_page_count on the writer connection, the only one that writes): writes
// then fail with SQLITE_FULL exactly as on a full disk.
func TestReadyzIs503WhenTheDatabaseIsFull(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "full.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	srv, err := server.New(server.Unimplemented{},
		server.WithAuthenticator(auth.NewOAuth2(auth.NewMemoryClientStore(), auth.NewMemoryTokenStore())),
		server.WithReadiness(s.Ping))
	if err != nil {
		t.Fatal(err)
	}
	readyz := func() int {
		rec := httptest.NewRecorder()
		srv.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
		return rec.Code
	}
	if code := readyz(); code != http.StatusOK {
		t.Fatalf("readyz on a fresh store: %d", code)
	}

	tn := store.Tenant{ID: uuid.New(), Name: "t", ClientID: "c", SecretHash: "h"}
	if _, err := s.CreateTenant(ctx, tn, nil, time.Now()); err != nil {
		t.Fatal(err)
	}
	var pages int64
	if err := s.w.QueryRowContext(ctx, "PRAGMA page_count").Scan(&pages); err != nil {
		t.Fatal(err)
	}
	// A cap with room for some writes, then writes until the file is full.
	if _, err := s.w.ExecContext(ctx, fmt.Sprintf("PRAGMA max_page_count = %d", pages+200)); err != nil {
		t.Fatal(err)
	}
	big := store.NewTask{Kind: store.TaskLifecycle, Payload: []byte(`{"action":"` + strings.Repeat("x", 2000) + `"}`)}
	var writeErr error
	for i := 0; i < 10_000 && writeErr == nil; i++ {
		_, writeErr = s.Enqueue(ctx, tn.ID, []store.NewTask{big}, time.Now())
	}
	if writeErr == nil || !strings.Contains(writeErr.Error(), "full") {
		t.Fatalf("writes never failed as full: %v", writeErr)
	}
	if err := s.Ping(ctx); !errors.Is(err, ErrFull) {
		t.Errorf("Ping on a full database = %v, want ErrFull", err)
	}
	if code := readyz(); code != http.StatusServiceUnavailable {
		t.Errorf("readyz on a full database: %d, want 503", code)
	}

	// Room again (the operator raised the cap): ready again.
	if _, err := s.w.ExecContext(ctx, fmt.Sprintf("PRAGMA max_page_count = %d", pages+10_000)); err != nil {
		t.Fatal(err)
	}
	if code := readyz(); code != http.StatusOK {
		t.Errorf("readyz after room came back: %d", code)
	}
}

// Ping commits: the probe row's time moves on each call, so a store that
// cannot commit (here: a read-only writer) is not ready.
func TestPingCommits(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "ping.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var before, after int64
	_ = s.r.QueryRowContext(ctx, "SELECT pinged_at FROM readiness_probe").Scan(&before)
	if err := s.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.r.QueryRowContext(ctx, "SELECT pinged_at FROM readiness_probe").Scan(&after); err != nil || after <= before {
		t.Fatalf("probe row %d -> %d (%v): Ping did not commit", before, after, err)
	}
	if _, err := s.w.ExecContext(ctx, "PRAGMA query_only = 1"); err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(ctx); err == nil {
		t.Error("Ping succeeded on a store that cannot write")
	}
}

// Issue 21: readiness must not need the write lock. While another
// connection holds it (a load's apply, another process), Ping answers
// ready after PingLockWait instead of failing when the busy timeout runs
// out; a store that cannot write is still not ready.
func TestPingDoesNotWaitForTheWriteLock(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "locked.db")
	s, err := Open(ctx, path, WithBusyTimeout(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	other, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	tx, err := other.w.BeginTx(ctx, nil) // BEGIN IMMEDIATE: the write lock
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if err := s.Ping(ctx); err != nil {
		t.Errorf("Ping while another connection holds the write lock = %v, want ready", err)
	}
	if _, err := s.w.ExecContext(ctx, "PRAGMA max_page_count = 1"); err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(ctx); !errors.Is(err, ErrFull) {
		t.Errorf("Ping of a full store while the lock is held = %v, want ErrFull", err)
	}
}
