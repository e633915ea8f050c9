package oneroster

import (
	"context"
	"database/sql"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/interop-data/interop/internal/cputime"
	"github.com/interop-data/interop/pkg/reference"
	"github.com/interop-data/interop/pkg/reference/store"
	"github.com/interop-data/interop/pkg/reference/store/postgres"
	"github.com/interop-data/interop/pkg/reference/store/postgres/pgtest"
	"github.com/interop-data/interop/pkg/reference/store/sqlite"
	"github.com/interop-data/interop/pkg/server/auth"
)

// benchFloorStores names the stores BenchmarkLoadFloor measures.
var benchFloorStores = flag.String("oneroster.stores", "sqlite,postgres", "BenchmarkLoadFloor's stores, comma-separated")

// BenchmarkLoadFloor (make bench-load) measures, for each store, a first
// load of the synthetic export into an empty tenant, the same export again
// (nothing changed), and the export with 5% of its users changed, each in
// rows/s beside the floor: the same engine's bulk copy of the same CSV
// rows into plain text tables, measured in the same run. While each load
// runs, a prober stands for a server on the same database serving another
// tenant (its own store handle, as another process would have): it
// saves a token, leases and acknowledges a task and pings, over and over,
// and the waits of those requests are reported (p50, p99, max) with the
// number that failed. After the first load it reports the stored ceiling
// (stored_bench_test.go): the engine copying exactly what that load stored
// into a fresh store, with and without the JSON.
func BenchmarkLoadFloor(b *testing.B) {
	dir := b.TempDir()
	export, changed := filepath.Join(dir, "export"), filepath.Join(dir, "changed")
	for _, d := range []string{export, changed} {
		if err := os.Mkdir(d, 0o755); err != nil {
			b.Fatal(err)
		}
	}
	rows := writeExport(b, export, *benchUsers)
	writeExportChanged(b, changed, *benchUsers, 20)
	for _, kind := range strings.Split(*benchFloorStores, ",") {
		b.Run(kind, func(b *testing.B) {
			if kind == "postgres" {
				pgtest.URL(b)
			}
			for i := 0; i < b.N; i++ {
				loadVsFloor(b, kind, filepath.Join(dir, fmt.Sprint(kind, i)), export, changed, rows)
			}
		})
	}
}

func loadVsFloor(b *testing.B, kind, dir, export, changed string, rows int) {
	ctx := context.Background()
	if err := os.Mkdir(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	var open func() (store.Store, error)
	var floor time.Duration
	var where string // the store's file or URL
	switch kind {
	case "sqlite":
		floor = sqliteFloor(b, filepath.Join(dir, "floor.db"), export)
		where = filepath.Join(dir, "store.db")
		open = func() (store.Store, error) { return sqlite.Open(ctx, where) }
	case "postgres":
		floor = postgresFloor(b, pgtest.Schema(b), export)
		where = pgtest.Schema(b)
		open = func() (store.Store, error) { return postgres.Open(ctx, where) }
	default:
		b.Fatalf("-oneroster.stores: unknown store %q", kind)
	}
	st, err := open()
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	server, err := open() // the serving process's own handle
	if err != nil {
		b.Fatal(err)
	}
	defer server.Close()
	district, err := reference.CreateTenant(ctx, st, "district", time.Now())
	if err != nil {
		b.Fatal(err)
	}
	other, err := reference.CreateTenant(ctx, server, "other", time.Now())
	if err != nil {
		b.Fatal(err)
	}
	// The machine may be shared: the floor is measured again right before
	// each load (a fresh file or schema each time), so that the two see the
	// same neighbours, and both wall and CPU time are reported (CPU time of
	// this process: the whole engine for SQLite, the client side only for
	// PostgreSQL, whose server works in its own processes).
	floorAgain := func(step string) cost {
		switch kind {
		case "sqlite":
			return measure(func() { sqliteFloor(b, filepath.Join(dir, "floor-"+step+".db"), export) })
		default:
			return measure(func() { postgresFloor(b, pgtest.Schema(b), export) })
		}
	}
	b.Logf("%s: %d users, %d rows; floor (bulk copy into text tables) %v, %.0f rows/s", kind, *benchUsers, rows, floor.Round(time.Millisecond), float64(rows)/floor.Seconds())
	for _, step := range []struct{ name, export string }{{"first", export}, {"again", export}, {"changed", changed}} {
		fl := floorAgain(step.name)
		src, err := Open(step.export)
		if err != nil {
			b.Fatal(err)
		}
		p := startProber(server, other.TenantID)
		var res Result
		c := measure(func() {
			res, err = Load(ctx, st, district.TenantID, src, WithTempDir(dir), WithMemoryLimit(*benchMemLimit))
		})
		waits := p.stop()
		if err != nil {
			b.Fatal(err)
		}
		rate, floorRate := float64(rows)/c.wall.Seconds(), float64(rows)/fl.wall.Seconds()
		b.Logf("%s %-7s %7v %8.0f rows/s = %5.1f%% of the floor's %.0f rows/s (%v); CPU %v = %5.1f%% of the floor's %v as a ratio; "+
			"added %d, changed %d, deleted %d, unchanged %d; staged in %s, read and checked in %v, applied in %v; other tenant: %s",
			kind, step.name, c.wall.Round(time.Millisecond), rate, 100*rate/floorRate, floorRate, fl.wall.Round(time.Millisecond),
			c.cpu.Round(time.Millisecond), 100*fl.cpu.Seconds()/c.cpu.Seconds(), fl.cpu.Round(time.Millisecond),
			res.Sync.Added, res.Sync.Changed, res.Sync.Deleted, res.Sync.Unchanged, res.Staging, res.Read.Round(time.Millisecond), res.Applied.Round(time.Millisecond), waits)
		b.ReportMetric(100*rate/floorRate, step.name+"-%floor")
		b.ReportMetric(rate, step.name+"-rows/s")
		b.ReportMetric(float64(waits.max.Milliseconds()), step.name+"-wait-max-ms")
		b.ReportMetric(float64(waits.failed), step.name+"-failed")
		if step.name == "first" {
			storedCeiling(b, kind, dir, where, district.TenantID, res.Sync.Added, fl.wall, c.wall)
		}
	}
}

// storedCeiling reports the engine's own copy of what the first load
// stored in the store at where (see stored_bench_test.go) beside the floor
// measured before that load (floor) and the load's time (load).
func storedCeiling(b *testing.B, kind, dir, where string, tenant uuid.UUID, added int, floor, load time.Duration) {
	type ceiling struct {
		how  string
		took time.Duration
		rows []int64
		each []time.Duration
	}
	var cs []ceiling
	switch kind {
	case "sqlite":
		d, n, each := sqliteStored(b, where, filepath.Join(dir, "stored.db"), tenant, 0, false)
		cs = append(cs, ceiling{"in one transaction", d, n, each})
		d, n, each = sqliteStored(b, where, filepath.Join(dir, "stored-sliced.db"), tenant, 4096, false)
		cs = append(cs, ceiling{"committed every 4,096 objects", d, n, each})
		d, n, each = sqliteStored(b, where, filepath.Join(dir, "stored-bare.db"), tenant, 4096, true)
		cs = append(cs, ceiling{"committed every 4,096 objects, without the JSON (data and payloads empty)", d, n, each})
	default:
		d, n, each := postgresStored(b, where, pgtest.Schema(b), dir, tenant, false)
		cs = append(cs, ceiling{"in one transaction (COPY, binary)", d, n, each})
		d, n, each = postgresStored(b, where, pgtest.Schema(b), dir, tenant, true)
		cs = append(cs, ceiling{"in one transaction (COPY, binary), without the JSON (data and payloads empty)", d, n, each})
	}
	for _, c := range cs {
		// A ceiling that copied less than the load stored bounds nothing.
		if c.rows[0] != int64(added) {
			b.Fatalf("%s stored: copied %d objects, the first load added %d", kind, c.rows[0], added)
		}
		var total int64
		rest := c.took
		parts := make([]string, len(storedTables))
		for i, t := range storedTables {
			total += c.rows[i]
			rest -= c.each[i]
			parts[i] = fmt.Sprintf("%s %v", t.name, c.each[i].Round(time.Millisecond))
		}
		b.Logf("%s stored  %7v for the %d rows the first load stored (objects, links, events), %s: %5.1f%% of the floor (%v); the first load took %.1fx as long; %s, commits %v",
			kind, c.took.Round(time.Millisecond), total, c.how, 100*floor.Seconds()/c.took.Seconds(), floor.Round(time.Millisecond), load.Seconds()/c.took.Seconds(), strings.Join(parts, ", "), rest.Round(time.Millisecond))
	}
	b.ReportMetric(100*floor.Seconds()/cs[0].took.Seconds(), "stored-%floor")
}

// cost is what a step took: wall time and this process's CPU time.
type cost struct{ wall, cpu time.Duration }

func measure(fn func()) cost {
	c0, _ := cputime.Process()
	t0 := time.Now()
	fn()
	c1, _ := cputime.Process()
	return cost{time.Since(t0), c1 - c0}
}

// readCSV calls row with each record of every CSV file of export (the
// manifest too), after header with its header.
func readCSV(b *testing.B, export string, header func(table string, cols int) error, row func(rec []string) error) {
	files, err := filepath.Glob(filepath.Join(export, "*.csv"))
	if err != nil {
		b.Fatal(err)
	}
	for _, f := range files {
		if filepath.Base(f) == "manifest.csv" {
			continue
		}
		fh, err := os.Open(f)
		if err != nil {
			b.Fatal(err)
		}
		r := csv.NewReader(fh)
		r.ReuseRecord = true
		r.FieldsPerRecord = -1
		hdr, err := r.Read()
		cols := len(hdr)
		if err == nil {
			err = header(strings.TrimSuffix(filepath.Base(f), ".csv"), cols)
		}
		rec := make([]string, cols)
		for err == nil {
			var got []string
			if got, err = r.Read(); err == nil {
				clear(rec)
				copy(rec, got)
				err = row(rec)
			}
		}
		fh.Close()
		if !errors.Is(err, io.EOF) {
			b.Fatal(err)
		}
	}
}

// sqliteFloor copies the export's rows into plain text tables of a new
// SQLite file, with the store's journal settings, in one transaction with
// one prepared statement per table.
func sqliteFloor(b *testing.B, path, export string) time.Duration {
	ctx := context.Background()
	db, err := sql.Open("sqlite", path+"?_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	t0 := time.Now()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	var ins *sql.Stmt
	args := []any{}
	readCSV(b, export, func(table string, cols int) error {
		if ins != nil {
			ins.Close()
		}
		if _, err := tx.Exec(`CREATE TABLE "` + table + `" (` + columns(cols, "text") + `)`); err != nil {
			return err
		}
		ins, err = tx.Prepare(`INSERT INTO "` + table + `" VALUES (` + strings.TrimSuffix(strings.Repeat("?,", cols), ",") + `)`)
		args = make([]any, cols)
		return err
	}, func(rec []string) error {
		for i := range args {
			args[i] = rec[i]
		}
		_, err := ins.Exec(args...)
		return err
	})
	ins.Close()
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	return time.Since(t0)
}

// postgresFloor copies the export's rows into plain text tables with COPY.
func postgresFloor(b *testing.B, url, export string) time.Duration {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	t0 := time.Now()
	tx, err := conn.Begin(ctx)
	if err != nil {
		b.Fatal(err)
	}
	var table string
	var batch [][]any
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		cols := make([]string, len(batch[0]))
		for i := range cols {
			cols[i] = fmt.Sprint("c", i)
		}
		_, err := tx.CopyFrom(ctx, pgx.Identifier{table}, cols, pgx.CopyFromRows(batch))
		batch = batch[:0]
		return err
	}
	readCSV(b, export, func(t string, cols int) error {
		if err := flush(); err != nil {
			return err
		}
		table = t
		_, err := tx.Exec(ctx, `CREATE TABLE "`+t+`" (`+columns(cols, "text")+`)`)
		return err
	}, func(rec []string) error {
		row := make([]any, len(rec))
		for i, v := range rec {
			row[i] = v
		}
		batch = append(batch, row)
		if len(batch) >= 10000 {
			return flush()
		}
		return nil
	})
	if err := flush(); err != nil {
		b.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		b.Fatal(err)
	}
	return time.Since(t0)
}

func columns(n int, typ string) string {
	cols := make([]string, n)
	for i := range cols {
		cols[i] = fmt.Sprint("c", i, " ", typ)
	}
	return strings.Join(cols, ", ")
}

// prober stands for a server serving another tenant beside a load: it
// saves a token, leases a task and acknowledges it (retry, so that it can
// be leased again) and pings, in a loop, timing each request.
type prober struct {
	done  chan struct{}
	wg    sync.WaitGroup
	mu    sync.Mutex
	waits []time.Duration
	errs  []error
}

func startProber(st store.Store, tenant uuid.UUID) *prober {
	p := &prober{done: make(chan struct{})}
	ctx := context.Background()
	if _, err := st.Enqueue(ctx, tenant, []store.NewTask{reference.LifecycleTask("PROBE", "")}, time.Now()); err != nil {
		p.errs = append(p.errs, err)
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		timed := func(fn func() error) {
			t0 := time.Now()
			err := fn()
			p.mu.Lock()
			p.waits = append(p.waits, time.Since(t0))
			if err != nil {
				p.errs = append(p.errs, err)
			}
			p.mu.Unlock()
		}
		for {
			select {
			case <-p.done:
				return
			case <-time.After(100 * time.Millisecond):
			}
			timed(func() error {
				return st.SaveToken(ctx, uuid.NewString(), auth.Principal{TenantIDs: []uuid.UUID{tenant}, ClientID: "probe"}, time.Now().Add(time.Hour))
			})
			var leased []store.Task
			timed(func() (err error) {
				leased, err = st.LeaseTasks(ctx, store.LeaseQuery{Tenants: []uuid.UUID{tenant}, Limit: 1, Now: time.Now(), Lease: time.Minute})
				return err
			})
			for _, t := range leased {
				timed(func() error {
					_, err := st.AckTasks(ctx, []uuid.UUID{tenant}, []store.Ack{{TaskID: t.ID, Status: store.AckRetry}}, time.Now())
					return err
				})
			}
			timed(func() error { return st.Ping(ctx) })
		}
	}()
	return p
}

// waitStats summarizes the prober's requests.
type waitStats struct {
	n, failed     int
	p50, p99, max time.Duration
	firstErr      error
}

func (w waitStats) String() string {
	s := fmt.Sprintf("%d requests, p50 %v, p99 %v, max %v, %d failed", w.n, w.p50.Round(time.Microsecond*10), w.p99.Round(time.Microsecond*10), w.max.Round(time.Millisecond), w.failed)
	if w.firstErr != nil {
		s += fmt.Sprintf(" (%v)", w.firstErr)
	}
	return s
}

func (p *prober) stop() waitStats {
	close(p.done)
	p.wg.Wait()
	ws := slices.Clone(p.waits)
	slices.Sort(ws)
	out := waitStats{n: len(ws), failed: len(p.errs)}
	if len(p.errs) > 0 {
		out.firstErr = p.errs[0]
	}
	if len(ws) > 0 {
		out.p50, out.p99, out.max = ws[len(ws)/2], ws[len(ws)*99/100], ws[len(ws)-1]
	}
	return out
}
