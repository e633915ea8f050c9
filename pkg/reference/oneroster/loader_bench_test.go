package oneroster

import (
	"context"
	"os"
	"path/filepath"
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
// the store's staging and applying. cpu-s is the process's CPU time per
// load, read-s the read pass, build-s the rest.
func BenchmarkLoaderAlone(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	export := filepath.Join(dir, "export")
	if err := os.Mkdir(export, 0o755); err != nil {
		b.Fatal(err)
	}
	rows := writeExport(b, export, *benchUsers)
	st, err := sqlite.Open(ctx, filepath.Join(dir, "alone.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	creds, err := reference.CreateTenant(ctx, st, "bench", time.Now())
	if err != nil {
		b.Fatal(err)
	}
	var cpu, read, build time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		src, err := Open(export)
		if err != nil {
			b.Fatal(err)
		}
		c0, _ := cputime.Process()
		res, err := Load(ctx, st, creds.TenantID, src, WithTempDir(dir), func(c *config) {
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
	b.ReportMetric(float64(rows)*float64(b.N)/(read+build).Seconds(), "rows/s")
	b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s")
	b.ReportMetric(read.Seconds()/float64(b.N), "read-s")
	b.ReportMetric(build.Seconds()/float64(b.N), "build-s")
}
