package oneroster

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/interop-data/interop/pkg/reference"
	"github.com/interop-data/interop/pkg/reference/store"
	"github.com/interop-data/interop/pkg/reference/store/postgres"
	"github.com/interop-data/interop/pkg/reference/store/postgres/pgtest"
	"github.com/interop-data/interop/pkg/reference/store/sqlite"
)

// jsonLeft counts a copy's objects and events that kept their JSON.
const jsonLeft = `SELECT (SELECT count(*) FROM objects WHERE length(data) > 0) + (SELECT count(*) FROM tasks WHERE length(payload) > 0)`

// TestStoredCeilingCopiesTheLoad holds BenchmarkLoadFloor's stored ceiling
// to what it claims to time: every row a first load stored for the tenant,
// in each table it wrote, and no other tenant's (a second tenant holds
// rows of its own in the same tables), whole and sliced.
func TestStoredCeilingCopiesTheLoad(t *testing.T) {
	ctx := context.Background()
	// The other tenant's export is smaller, so that a copy of its rows
	// counts differently from the district's.
	export, smaller := t.TempDir(), t.TempDir()
	writeExport(t, export, 300)
	writeExport(t, smaller, 100)
	load := func(t *testing.T, st store.Store) (district uuid.UUID, added int) {
		t.Helper()
		for _, dir := range []string{smaller, export} {
			creds, err := reference.CreateTenant(ctx, st, filepath.Base(dir), time.Now())
			if err != nil {
				t.Fatal(err)
			}
			src, err := Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			res, err := Load(ctx, st, creds.TenantID, src, WithTempDir(t.TempDir()))
			if err != nil {
				t.Fatal(err)
			}
			district, added = creds.TenantID, res.Sync.Added
		}
		return district, added
	}
	// want checks the copied rows against what count finds of the
	// district's rows in each table of the loaded store.
	want := func(t *testing.T, got []int64, added int, count func(table string) int64) {
		t.Helper()
		if got[0] != int64(added) {
			t.Errorf("copied %d objects, the load added %d", got[0], added)
		}
		for i, tb := range storedTables {
			if n := count(tb.name); got[i] != n || n == 0 {
				t.Errorf("%s: copied %d rows, the tenant has %d", tb.name, got[i], n)
			}
		}
	}
	t.Run("sqlite", func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "store.db")
		st, err := sqlite.Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		district, added := load(t, st)
		st.Close()
		db, err := sql.Open("sqlite", path)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		count := func(table string) int64 {
			var n int64
			if err := db.QueryRow(`SELECT count(*) FROM `+table+` WHERE tenant_id = ?`, district.String()).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		for _, c := range []struct {
			slice int
			bare  bool
		}{{0, false}, {100, false}, {100, true}} {
			dst := filepath.Join(dir, fmt.Sprint("copy", c.slice, c.bare, ".db"))
			_, got, _ := sqliteStored(t, path, dst, district, c.slice, c.bare)
			want(t, got, added, count)
			copied, err := sql.Open("sqlite", dst)
			if err != nil {
				t.Fatal(err)
			}
			var json int64
			if err := copied.QueryRow(jsonLeft).Scan(&json); err != nil {
				t.Fatal(err)
			}
			copied.Close()
			if (json == 0) != c.bare {
				t.Errorf("bare %v: %d objects and events kept their JSON", c.bare, json)
			}
		}
	})
	t.Run("postgres", func(t *testing.T) {
		url := pgtest.Schema(t)
		st, err := postgres.Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		district, added := load(t, st)
		st.Close()
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		count := func(table string) int64 {
			var n int64
			if err := conn.QueryRow(ctx, `SELECT count(*) FROM `+table+` WHERE tenant_id = $1`, district).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		for _, bare := range []bool{false, true} {
			dst := pgtest.Schema(t)
			_, got, _ := postgresStored(t, url, dst, t.TempDir(), district, bare)
			want(t, got, added, count)
			copied, err := pgx.Connect(ctx, dst)
			if err != nil {
				t.Fatal(err)
			}
			var json int64
			if err := copied.QueryRow(ctx, jsonLeft).Scan(&json); err != nil {
				t.Fatal(err)
			}
			copied.Close(ctx)
			if (json == 0) != bare {
				t.Errorf("bare %v: %d objects and events kept their JSON", bare, json)
			}
		}
	})
}
