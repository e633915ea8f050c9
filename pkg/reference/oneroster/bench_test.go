package oneroster

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime/metrics"
	"strconv"
	"testing"
	"time"

	"github.com/interop-data/interop/internal/peakrss"
	"github.com/interop-data/interop/pkg/reference"
	"github.com/interop-data/interop/pkg/reference/store"
	"github.com/interop-data/interop/pkg/reference/store/postgres"
	"github.com/interop-data/interop/pkg/reference/store/postgres/pgtest"
	"github.com/interop-data/interop/pkg/reference/store/sqlite"
)

// benchUsers sizes BenchmarkLoad's export; the 1,000,000-user run of
// docs/PERFORMANCE.md is `go test -run '^$' -bench BenchmarkLoad -benchtime 1x
// ./pkg/reference/oneroster -oneroster.users 1000000` (minutes, GBs of disk).
var benchUsers = flag.Int("oneroster.users", 10000, "users in BenchmarkLoad's synthetic export")

// benchStore picks BenchmarkLoad's store: "postgres" makes a fresh schema
// in the server INTEROP_TEST_POSTGRES names (and skips without it).
var benchStore = flag.String("oneroster.store", "sqlite", "BenchmarkLoad's store: sqlite or postgres")

// benchProgress, when set, prints the load's progress to stderr every so
// often: a long run that is stopped still says how far it got.
var benchMemLimit = flag.Int64("oneroster.memory-limit", DefaultMemoryLimit, "BenchmarkLoad's and BenchmarkLoadFloor's WithMemoryLimit (0: stage every export on disk)")

var benchProgress = flag.Duration("oneroster.progress", 0, "print BenchmarkLoad's progress at this interval (0: never)")

// progressPrinter prints the latest progress report at most once per
// interval, with the time since the load started.
func progressPrinter(every time.Duration) func(Progress) {
	if every <= 0 {
		return func(Progress) {}
	}
	start := time.Now()
	next := start.Add(every)
	return func(p Progress) {
		if now := time.Now(); now.After(next) || (p.Done && p.File == "") {
			next = now.Add(every)
			fmt.Fprintf(os.Stderr, "%s %s %s rows=%d bytes=%d/%d done=%v %s\n",
				now.Sub(start).Round(time.Second), p.Phase, p.File, p.Rows, p.Bytes, p.Size, p.Done, memoryNow())
		}
	}
}

// memoryNow says where the process's memory is, so that a long run's
// growth can be told apart: Go's runtime and heap (go=), and the resident
// anonymous memory (Go's and SQLite's C allocations), file-mapped memory
// (the binary, and SQLite's WAL index, mapped from its -shm file) and
// shared memory.
func memoryNow() string {
	sample := []metrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(sample)
	anon, file, shmem := peakrss.Resident()
	return fmt.Sprintf("go=%dMiB(heap %dMiB) anon=%dMiB file=%dMiB shmem=%dMiB",
		sample[0].Value.Uint64()>>20, sample[1].Value.Uint64()>>20, anon>>20, file>>20, shmem>>20)
}

// openBenchStore opens an empty store of the kind -oneroster.store names.
func openBenchStore(b *testing.B, dir, name string) store.Store {
	b.Helper()
	ctx := context.Background()
	var st store.Store
	var err error
	switch *benchStore {
	case "sqlite":
		st, err = sqlite.Open(ctx, filepath.Join(dir, name+".db"))
	case "postgres":
		st, err = postgres.Open(ctx, pgtest.Schema(b))
	default:
		b.Fatalf("-oneroster.store %q: want sqlite or postgres", *benchStore)
	}
	if err != nil {
		b.Fatal(err)
	}
	return st
}

// BenchmarkLoad loads a synthetic export into an empty tenant of a fresh
// store (SQLite, or PostgreSQL with -oneroster.store postgres). rows/s
// counts the rows of every file; peak-RSS-MiB is the process's high-water
// mark (the generator streams, so it is the load's).
// The baseline beside it, BenchmarkLoadBaseline, puts a district of as many
// persons in through reference.Load, which holds the whole roster in memory.
func BenchmarkLoad(b *testing.B) {
	ctx := context.Background()
	if *benchStore == "postgres" {
		pgtest.URL(b) // skip before writing the export
	}
	dir := b.TempDir()
	export := filepath.Join(dir, "export")
	if err := os.Mkdir(export, 0o755); err != nil {
		b.Fatal(err)
	}
	rows := writeExport(b, export, *benchUsers)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		st := openBenchStore(b, dir, "load"+strconv.Itoa(i))
		creds, err := reference.CreateTenant(ctx, st, "bench", time.Now())
		if err != nil {
			b.Fatal(err)
		}
		src, err := Open(export)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		res, err := Load(ctx, st, creds.TenantID, src, WithTempDir(dir), WithMemoryLimit(*benchMemLimit), WithProgress(progressPrinter(*benchProgress)))
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		b.ReportMetric(float64(rows)/(res.Read+res.Applied).Seconds(), "rows/s")
		b.ReportMetric(float64(rows)/res.Read.Seconds(), "read-rows/s")
		st.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(peakrss.Bytes())/(1<<20), "peak-RSS-MiB")
}

// BenchmarkLoadBaseline is the path a tenant was filled by before: the demo
// generator's roster, in memory, through reference.Load, sized to about
// as many persons as BenchmarkLoad's export.
func BenchmarkLoadBaseline(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	schools := max(1, *benchUsers/2000)
	per := *benchUsers / schools
	size := reference.DemoSize{Schools: schools, StudentsPerSchool: per - per/20, TeachersPerSchool: per / 20,
		CoursesPerSchool: 10, SectionsPerCourse: per / 20 * 4 / 10, StudentsPerSection: 24}
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		st, err := sqlite.Open(ctx, filepath.Join(dir, "base"+strconv.Itoa(i)+".db"))
		if err != nil {
			b.Fatal(err)
		}
		creds, err := reference.CreateTenant(ctx, st, "bench", time.Now())
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		r := reference.Demo(size)
		if _, err := reference.Load(ctx, st, creds.TenantID, r, time.Now()); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		st.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(peakrss.Bytes())/(1<<20), "peak-RSS-MiB")
}
