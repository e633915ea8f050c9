package sqlite

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/interop-data/interop/pkg/reference/store"
)

// A second handle on the file (interop tenant create beside a running
// server) waits for the first one's write transaction instead of failing,
// and fails cleanly once its busy timeout is spent. The waits here are
// SQLite's own lock waits, which no injected clock can drive.
func TestWriterWaitsForAnotherProcess(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "shared.db")
	server, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	// The server is inside a write transaction (BEGIN IMMEDIATE holds the
	// file's write lock from the start).
	tx, err := server.w.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `UPDATE tenants SET name = name`); err != nil {
		t.Fatal(err)
	}
	tenant := func() store.Tenant {
		return store.Tenant{ID: uuid.New(), Name: "Springfield", ClientID: uuid.NewString(), SecretHash: "h"}
	}

	impatient, err := Open(ctx, path, WithBusyTimeout(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer impatient.Close()
	if _, err := impatient.CreateTenant(ctx, tenant(), nil, time.Now()); err == nil || errors.Is(err, store.ErrConflict) {
		t.Fatalf("CreateTenant under a held write lock with a 50ms busy timeout: err = %v, want a busy error", err)
	}

	cli, err := Open(ctx, path) // the default busy timeout: 10s
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	tn := tenant()
	done := make(chan error, 1)
	go func() {
		_, err := cli.CreateTenant(ctx, tn, nil, time.Now())
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("CreateTenant finished (%v) while another handle held the write lock", err)
	case <-time.After(300 * time.Millisecond):
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("CreateTenant after the lock was released: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("CreateTenant still waiting after the lock was released")
	}
	if got, err := server.FindTenant(ctx, tn.ID); err != nil || got.Name != "Springfield" {
		t.Fatalf("the server does not see the new tenant: %+v, %v", got, err)
	}
}
