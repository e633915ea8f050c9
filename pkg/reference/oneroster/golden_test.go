package oneroster

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"hash"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/interop-data/interop/pkg/reference"
	"github.com/interop-data/interop/pkg/reference/store"
	"github.com/interop-data/interop/pkg/reference/store/sqlite"
)

var goldenLog = flag.String("oneroster.golden-log", "", "TestBuilderOutputUnchanged writes the builder's calls to this file")

// recorder passes a sync on and writes every call the builder makes, in
// order and byte for byte, into a hash.
type recorder struct {
	reference.SyncWriter
	h     hash.Hash
	calls int
	log   *strings.Builder // the calls as text, for a diff when the digest differs
}

func (r *recorder) write(line string) {
	r.calls++
	r.h.Write([]byte(line))
	if r.log != nil {
		r.log.WriteString(line)
	}
}

func (r *recorder) Upsert(ctx context.Context, o store.Object) error {
	r.write(fmt.Sprintf("upsert %s %s %q %q orgs=%v sections=%v %s\n", o.Kind, o.ID, o.Subtype, o.Label, o.Orgs, o.Sections, o.Data))
	return r.SyncWriter.Upsert(ctx, o)
}

func (r *recorder) Delete(ctx context.Context, kind store.Kind, id uuid.UUID) error {
	r.write(fmt.Sprintf("delete %s %s\n", kind, id))
	return r.SyncWriter.Delete(ctx, kind, id)
}

func (r *recorder) DeleteAbsent(ctx context.Context, kind store.Kind, subtype string) error {
	r.write(fmt.Sprintf("deleteAbsent %s %q\n", kind, subtype))
	return r.SyncWriter.DeleteAbsent(ctx, kind, subtype)
}

// goldenDigest is the digest of what the builder handed the store over the
// loads of TestBuilderOutputUnchanged, recorded from the builder as it was
// before it was made set-based (one query per object); goldenCalls is the
// number of calls.
const (
	goldenDigest = "27687ef264e5790c8b40415079b25da875a77161108548f69909bcf57a54382d"
	goldenCalls  = 17337
)

// The builder hands the store the same objects (kind, id, subtype, label,
// links and JSON bytes), deletions and calls, in the same order, as the
// builder before it: over the sample exports, a delta load onto the
// tenant's rows (which rebuilds rows from the stored objects) and a
// generated district loaded and then changed. A change in order or in a
// single byte changes the digest. Run with -oneroster.golden-log FILE to
// write the calls out for a diff.
//
// It runs once with every export staged on disk and once with each export
// the loader may hold in memory held there: both must give that output.
func TestBuilderOutputUnchanged(t *testing.T) {
	for _, staging := range []struct {
		name     string
		limit    int64
		inMemory int // how many of the loads must stage in memory
	}{
		{"disk", 0, 0},
		{"memory", DefaultMemoryLimit, 4},
	} {
		t.Run(staging.name, func(t *testing.T) {
			inMemory := goldenRun(t, staging.limit)
			if inMemory != staging.inMemory {
				t.Errorf("%d loads staged in memory, want %d", inMemory, staging.inMemory)
			}
		})
	}
}

// goldenRun runs the loads of TestBuilderOutputUnchanged with the memory
// limit given and says how many staged in memory.
func goldenRun(t *testing.T, memLimit int64) (inMemory int) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "golden.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	clock := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	now := func() time.Time { return clock }
	tenant := uuid.MustParse("6b1c8f0e-3f0e-4c59-9a57-2f4b8f7e1c11")
	if _, err := reference.InstallTenant(ctx, st, "District", clock, reference.TenantCredentials{TenantID: tenant, ClientID: "golden", ClientSecret: "golden-secret"}); err != nil {
		t.Fatal(err)
	}
	rec := &recorder{h: sha256.New()}
	if *goldenLog != "" {
		rec.log = &strings.Builder{}
	}
	wrap := func(w reference.SyncWriter) reference.SyncWriter {
		rec.SyncWriter = w
		return rec
	}
	load := func(export string) {
		t.Helper()
		rec.write("load " + filepath.Base(export) + "\n")
		src, err := Open(export)
		if err != nil {
			t.Fatal(err)
		}
		defer src.Close()
		res, err := Load(ctx, st, tenant, src, WithClock(now), WithTempDir(dir), WithMemoryLimit(memLimit), func(c *config) { c.wrap = wrap })
		if err != nil {
			t.Fatalf("load %s: %v", export, err)
		}
		if res.Staging == "memory" {
			inMemory++
		}
		rec.write(fmt.Sprintf("result %+v skipped %v\n", res.Sync.Added+res.Sync.Changed+res.Sync.Deleted, res.Skipped))
	}
	load("testdata/recommended")
	load("testdata/changed")
	delta := filepath.Join(dir, "delta")
	if err := os.Mkdir(delta, 0o755); err != nil {
		t.Fatal(err)
	}
	m := "propertyName,value\nmanifest.version,1.0\noneroster.version,1.1\n"
	for _, f := range Files {
		mode := "absent"
		switch f {
		case FileUsers, FileEnrollments:
			mode = "delta"
		}
		m += "file." + f + "," + mode + "\n"
	}
	for name, body := range map[string]string{
		"manifest.csv": m,
		"users.csv": "sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password\n" +
			"stu1,active,,true,sch1,student,s1,,Stuart,One,,stu1X1,student1@x,,3571592862,,,\n" +
			"stu2,tobedeleted,,true,sch1,student,x,,x,x,,,,,,,,\n" +
			"stu9,active,,true,sch2,student,s9,,Student,\"<Nine> & \"\"Co\"\"\",,stu9X1,,,,,,\n",
		"enrollments.csv": "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,primary,beginDate,endDate\n" +
			"enr90,active,,cla3,sch2,stu9,student,false,2025-09-01,\n",
	} {
		if err := os.WriteFile(filepath.Join(delta, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	load(delta)
	gen := filepath.Join(dir, "generated")
	if err := os.Mkdir(gen, 0o755); err != nil {
		t.Fatal(err)
	}
	writeExport(t, gen, 1200)
	load(gen)
	writeExportChanged(t, gen, 1200, 7)
	load(gen)

	if *goldenLog != "" {
		if err := os.WriteFile(*goldenLog, []byte(rec.log.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got := hex.EncodeToString(rec.h.Sum(nil))
	if got != goldenDigest || rec.calls != goldenCalls {
		t.Errorf("the builder's output changed: digest %s over %d calls, want %s over %d", got, rec.calls, goldenDigest, goldenCalls)
	}
	return inMemory
}
