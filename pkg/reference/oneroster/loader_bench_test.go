package oneroster

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/interop-data/interop/internal/cputime"
	"github.com/interop-data/interop/pkg/reference"
	"github.com/interop-data/interop/pkg/reference/store"
	"github.com/interop-data/interop/pkg/reference/store/sqlite"
)

// discard is a sync writer that takes every object and keeps none: the
// store's part of a load left out.
type discard struct{}

func (discard) Upsert(context.Context, store.Object) error             { return nil }
func (discard) Delete(context.Context, store.Kind, uuid.UUID) error    { return nil }
func (discard) DeleteAbsent(context.Context, store.Kind, string) error { return nil }

// BenchmarkLoaderAlone is BenchmarkLoad's export loaded with every object
// discarded instead of written: the loader's own work (reading and checking
// into the staging database, building each object and its JSON) without
// the store's staging and applying, with the export staged on disk and in
// memory. cpu-s is the process's CPU time per load, read-s the read pass,
// build-s the rest; export-MiB the size of its CSV files, heap-MiB the
// most the Go heap held after a collection during the load (sampled every
// 10 ms).
func BenchmarkLoaderAlone(b *testing.B) {
	dir := b.TempDir()
	export := filepath.Join(dir, "export")
	if err := os.Mkdir(export, 0o755); err != nil {
		b.Fatal(err)
	}
	rows := writeExport(b, export, *benchUsers)
	size := int64(0)
	for _, f := range Files {
		if fi, err := os.Stat(filepath.Join(export, f+".csv")); err == nil {
			size += fi.Size()
		}
	}
	for _, staging := range []struct {
		name  string
		limit int64
	}{{"disk", 0}, {"memory", 1 << 40}} {
		b.Run(staging.name, func(b *testing.B) {
			loaderAlone(b, dir, export, rows, staging.limit)
			b.ReportMetric(float64(size)/(1<<20), "export-MiB")
		})
	}
}

func loaderAlone(b *testing.B, dir, export string, rows int, memLimit int64) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(dir, fmt.Sprintf("alone-%d.db", memLimit)))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	creds, err := reference.CreateTenant(ctx, st, "bench", time.Now())
	if err != nil {
		b.Fatal(err)
	}
	var cpu, read, build time.Duration
	var heap uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		var m runtime.MemStats
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				runtime.ReadMemStats(&m)
				heap = max(heap, m.HeapAlloc)
			}
		}
	}()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		src, err := Open(export)
		if err != nil {
			b.Fatal(err)
		}
		c0, _ := cputime.Process()
		res, err := Load(ctx, st, creds.TenantID, src, WithTempDir(dir), WithMemoryLimit(memLimit), func(c *config) {
			c.wrap = func(reference.SyncWriter) reference.SyncWriter { return discard{} }
		})
		c1, _ := cputime.Process()
		if err != nil {
			b.Fatal(err)
		}
		src.Close()
		cpu += c1 - c0
		read += res.Read
		build += res.Applied
	}
	close(stop)
	<-sampled
	b.ReportMetric(float64(heap)/(1<<20), "heap-MiB")
	b.ReportMetric(float64(rows)*float64(b.N)/(read+build).Seconds(), "rows/s")
	b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s")
	b.ReportMetric(read.Seconds()/float64(b.N), "read-s")
	b.ReportMetric(build.Seconds()/float64(b.N), "build-s")
}
