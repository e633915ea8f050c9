package oneroster

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/interop-data/interop/pkg/reference/store/postgres"
	"github.com/interop-data/interop/pkg/reference/store/sqlite"
)

// The stored ceiling: what the engine takes to write, by its own bulk
// path and with the store's schema (its indexes included), exactly the rows
// a first load stored: the tenant's objects, links and events, copied from
// the loaded store into a fresh one. No loader can store those rows faster
// than that, so it bounds from above the share of the floor any first load
// can reach on this schema; the gap between a first load and its ceiling
// is what the loader and the store's sync cost on top of the writes.

// storedTables are the tables a first load writes, the columns it writes
// in each on PostgreSQL (where tasks' pos is drawn by the table, as the
// load draws it) and on SQLite, the column holding JSON, if any, and the
// column SQLite's slices are cut by: the objects' seq (their own, or their
// links'), or the events' pos.
var storedTables = []struct{ name, pg, sqlite, json, slicedBy string }{
	{"objects", "seq, tenant_id, id, kind, subtype, label, data, digest, links_digest", "seq, tenant_id, id, kind, subtype, label, data", "data", "seq"},
	{"object_orgs", "tenant_id, org_id, object_seq, kind, subtype", "tenant_id, org_id, object_seq, kind, subtype", "", "object_seq"},
	{"person_sections", "tenant_id, section_id, person_seq", "tenant_id, section_id, person_seq", "", "person_seq"},
	{"tasks", "id, tenant_id, sequence, kind, driver, created_at, payload", "pos, id, tenant_id, sequence, kind, driver, created_at, payload", "payload", "pos"},
}

// selected is cols with the JSON column json read as empty (the literal
// empty, the engine's empty blob) when bare.
func selected(cols, json, empty string, bare bool) string {
	if !bare || json == "" {
		return cols
	}
	return strings.Replace(cols, json, empty+" AS "+json, 1)
}

// postgresStored and sqliteStored return the time the copy took, and the
// rows copied into each of storedTables and the time spent on each (the
// rest is the commits).

// postgresStored copies tenant's rows of the schema at src into a fresh
// store at dst, each table exported beforehand to a file in dir in COPY's
// binary format (what pgx sends) and copied back in one transaction; only
// the copying back is timed. bare copies every object's data and every
// event's payload as empty: what the rows and their indexes cost alone.
func postgresStored(b testing.TB, src, dst, dir string, tenant uuid.UUID, bare bool) (time.Duration, []int64, []time.Duration) {
	ctx := context.Background()
	st, err := postgres.Open(ctx, dst) // the store's schema, migrated
	if err != nil {
		b.Fatal(err)
	}
	st.Close()
	from, err := pgx.Connect(ctx, src)
	if err != nil {
		b.Fatal(err)
	}
	defer from.Close(ctx)
	rows := make([]int64, len(storedTables))
	files := make([]string, len(storedTables))
	for i, t := range storedTables {
		files[i] = filepath.Join(dir, "stored-"+t.name+".copy")
		f, err := os.Create(files[i])
		if err != nil {
			b.Fatal(err)
		}
		tag, err := from.PgConn().CopyTo(ctx, f, fmt.Sprintf(`COPY (SELECT %s FROM %s WHERE tenant_id = '%s') TO STDOUT (FORMAT binary)`, selected(t.pg, t.json, `''::bytea`, bare), t.name, tenant))
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			b.Fatal(err)
		}
		rows[i] = tag.RowsAffected()
	}
	to, err := pgx.Connect(ctx, dst)
	if err != nil {
		b.Fatal(err)
	}
	defer to.Close(ctx)
	t0 := time.Now()
	tx, err := to.Begin(ctx)
	if err != nil {
		b.Fatal(err)
	}
	each := make([]time.Duration, len(storedTables))
	for i, t := range storedTables {
		t1 := time.Now()
		f, err := os.Open(files[i])
		if err != nil {
			b.Fatal(err)
		}
		_, err = tx.Conn().PgConn().CopyFrom(ctx, f, fmt.Sprintf(`COPY %s (%s) FROM STDIN (FORMAT binary)`, t.name, t.pg))
		f.Close()
		if err != nil {
			b.Fatal(err)
		}
		each[i] = time.Since(t1)
	}
	if err := tx.Commit(ctx); err != nil {
		b.Fatal(err)
	}
	d := time.Since(t0)
	for _, f := range files {
		os.Remove(f)
	}
	return d, rows, each
}

// sqliteStored copies tenant's rows of the SQLite file src into a fresh
// store's file dst with INSERT ... SELECT from the attached src, with the
// store's journal settings: in one transaction, or (slice > 0) committing
// every slice objects, with their links and a like share of the events,
// as a load that keeps other writers waiting less than a second must;
// bare as for postgresStored.
func sqliteStored(b testing.TB, src, dst string, tenant uuid.UUID, slice int, bare bool) (time.Duration, []int64, []time.Duration) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, dst)
	if err != nil {
		b.Fatal(err)
	}
	st.Close()
	db, err := sql.Open("sqlite", dst+"?_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, `ATTACH DATABASE ? AS src`, src); err != nil {
		b.Fatal(err)
	}
	var lo, hi, tlo, thi int64
	if err := db.QueryRowContext(ctx, `SELECT (SELECT min(seq) FROM src.objects WHERE tenant_id = ?1), (SELECT max(seq) FROM src.objects WHERE tenant_id = ?1),
		(SELECT min(pos) FROM src.tasks WHERE tenant_id = ?1), (SELECT max(pos) FROM src.tasks WHERE tenant_id = ?1)`, tenant.String()).Scan(&lo, &hi, &tlo, &thi); err != nil {
		b.Fatal(err)
	}
	n := 1
	if slice > 0 {
		n = int((hi-lo)/int64(slice)) + 1
	}
	rows := make([]int64, len(storedTables))
	each := make([]time.Duration, len(storedTables))
	t0 := time.Now()
	for i := range n {
		// The i-th of n parts of the objects' seqs and of the tasks' positions.
		olo, ohi := lo+(hi-lo+1)*int64(i)/int64(n), lo+(hi-lo+1)*int64(i+1)/int64(n)
		plo, phi := tlo+(thi-tlo+1)*int64(i)/int64(n), tlo+(thi-tlo+1)*int64(i+1)/int64(n)
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			b.Fatal(err)
		}
		for j, t := range storedTables {
			from, to := olo, ohi
			if t.slicedBy == "pos" {
				from, to = plo, phi
			}
			t1 := time.Now()
			res, err := tx.ExecContext(ctx, fmt.Sprintf(`INSERT INTO %s (%s) SELECT %s FROM src.%s WHERE %s >= ? AND %s < ? AND tenant_id = ?`,
				t.name, t.sqlite, selected(t.sqlite, t.json, `X''`, bare), t.name, t.slicedBy, t.slicedBy), from, to, tenant.String())
			if err != nil {
				b.Fatalf("%s: %v", t.name, err)
			}
			k, _ := res.RowsAffected()
			rows[j] += k
			each[j] += time.Since(t1)
		}
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
	}
	return time.Since(t0), rows, each
}
