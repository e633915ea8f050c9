package oneroster

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/interop-data/interop/pkg/reference"
	"github.com/interop-data/interop/pkg/reference/store/sqlite"
)

// stagedLoad loads each of exports in turn into a new tenant of a new
// store, the last one with the memory limit given, and returns the calls
// the builder made in that last load, its error and where it staged.
func stagedLoad(t *testing.T, memLimit int64, exports ...string) (calls, errs, staging string) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "agree.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	clock := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tenant := uuid.MustParse("0d4c6a52-7d0c-4f9c-8e52-8a4b3f1e2d10")
	if _, err := reference.InstallTenant(ctx, st, "District", clock, reference.TenantCredentials{TenantID: tenant, ClientID: "agree", ClientSecret: "agree-secret"}); err != nil {
		t.Fatal(err)
	}
	for i, export := range exports {
		src, err := Open(export)
		if err != nil {
			t.Fatal(err)
		}
		last := i == len(exports)-1
		rec := &recorder{h: sha256.New(), log: &strings.Builder{}}
		opts := []Option{WithClock(func() time.Time { return clock }), WithTempDir(dir)}
		if last {
			opts = append(opts, WithMemoryLimit(memLimit), func(c *config) {
				c.wrap = func(w reference.SyncWriter) reference.SyncWriter { rec.SyncWriter = w; return rec }
			})
		}
		res, err := Load(ctx, st, tenant, src, opts...)
		src.Close()
		if !last {
			if err != nil {
				t.Fatalf("load %s: %v", export, err)
			}
			continue
		}
		if err != nil {
			errs = err.Error()
			if v, ok := AsValidation(err); ok {
				errs = fmt.Sprintf("%v omitted %v", v.Errors, v.Omitted)
			}
		}
		return rec.log.String() + fmt.Sprintf("added %d changed %d deleted %d unchanged %d enqueued %d skipped %v\n",
			res.Sync.Added, res.Sync.Changed, res.Sync.Deleted, res.Sync.Unchanged, res.Sync.Enqueued, res.Skipped), errs, res.Staging
	}
	return "", "", ""
}

// editExport copies the generated export of users users into a new
// directory with the manifest's modes and the files' lines changed.
func editExport(t *testing.T, users int, modes map[string]string, edit func(file string, lines []string) []string) string {
	t.Helper()
	dir := t.TempDir()
	writeExport(t, dir, users)
	for _, f := range Files {
		path := filepath.Join(dir, f+".csv")
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
		if mode := modes[f]; mode == "absent" {
			os.Remove(path)
			continue
		}
		if err := os.WriteFile(path, []byte(strings.Join(edit(f, lines), "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	m := "propertyName,value\nmanifest.version,1.0\noneroster.version,1.1\n"
	for _, f := range Files {
		mode := "bulk"
		if md, ok := modes[f]; ok {
			mode = md
		}
		m += "file." + f + "," + mode + "\n"
	}
	if err := os.WriteFile(filepath.Join(dir, "manifest.csv"), []byte(m), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// The in-memory stage gives what the staging database gives: the same
// errors (over the cap too, which picks the same ones) and the same calls
// into the store, where the tenant's rows of absent files are merged in.
func TestStagingsAgree(t *testing.T) {
	base := t.TempDir()
	writeExport(t, base, 400)
	for _, tc := range []struct {
		name    string
		before  []string // loaded first
		export  string
		wantErr bool
	}{
		{"duplicates and unknown references past the cap", nil, editExport(t, 400, nil, func(file string, lines []string) []string {
			switch file {
			case FileEnrollments:
				for i := range 70 {
					lines = append(lines, strings.Replace(lines[1+i*3], "student", "student", 1)) // a repeated sourcedId
					lines = append(lines, fmt.Sprintf("x%d,active,,k0-%d,s0,nobody%d,student,false,,", i, i%4, i))
				}
			case FileUsers:
				for i := range 60 {
					lines = append(lines, fmt.Sprintf("v%d,active,,true,\"s0,s%d\",student,v%d,,V,W,,,,,,\"u0-1,gone%d\",,", i, i+5, i, i))
				}
			case FileClasses:
				lines = append(lines, `k9,active,,Nine,,c0-1,K9,scheduled,,s0,"y,winter",,,`)
				lines = append(lines, lines[1:61]...) // 60 classes twice: the cap keeps those of the lowest ids
			case FileDemographics:
				lines = append(lines, "ghost,active,,2012-01-01,male")
			}
			return lines
		}), true},
		{"the tenant's rows of absent files", []string{base}, editExport(t, 400,
			map[string]string{FileDemographics: "absent", FileCourses: "absent", FileCategories: "absent", FileAcademicSessions: "absent"},
			func(file string, lines []string) []string {
				// The last 40 students leave, with their enrollments; their
				// demographics (the tenant's) go with them.
				var out []string
				for _, l := range lines {
					if sid, _, _ := strings.Cut(l, ","); (file == FileUsers && strings.HasPrefix(sid, "u0-3")) ||
						(file == FileEnrollments && strings.Contains(l, ",u0-3")) {
						continue
					}
					out = append(out, l)
				}
				return out
			}), false},
		{"the tenant's rows refer to what the export removes", []string{base}, editExport(t, 400,
			map[string]string{FileCourses: "absent", FileAcademicSessions: "absent"},
			func(file string, lines []string) []string {
				switch file {
				case FileOrgs:
					return lines[:2] // s0 goes, which the tenant's courses name
				case FileClasses:
					// The fall semester is the tenant's (sessions absent) and
					// stays; a class names a term the tenant does not have.
					return append(lines, `k9,active,,Nine,,c0-1,K9,scheduled,,s0,"y,winter",,,`)
				}
				return lines
			}), true},
		{"a bulk export", nil, base, false},
		{"a bulk export again", []string{base}, base, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			exports := append(append([]string{}, tc.before...), tc.export)
			diskCalls, diskErr, diskStaging := stagedLoad(t, 0, exports...)
			memCalls, memErr, memStaging := stagedLoad(t, DefaultMemoryLimit, exports...)
			if diskStaging != "disk" || memStaging != "memory" {
				t.Fatalf("staged on %s and %s, want disk and memory", diskStaging, memStaging)
			}
			if (diskErr != "") != tc.wantErr {
				t.Fatalf("error %q, want one: %v", diskErr, tc.wantErr)
			}
			t.Logf("%d bytes of errors: %.600s", len(diskErr), diskErr)
			if memErr != diskErr {
				t.Errorf("errors differ:\n  disk: %s\nmemory: %s", diskErr, memErr)
			}
			dl, ml := strings.Split(diskCalls, "\n"), strings.Split(memCalls, "\n")
			for i := range max(len(dl), len(ml)) {
				if i >= len(dl) || i >= len(ml) || dl[i] != ml[i] {
					t.Errorf("call %d differs (of %d and %d):\n  disk: %.3000s\nmemory: %.3000s", i, len(dl), len(ml), strings.Join(dl[i:min(i+1, len(dl))], ""), strings.Join(ml[i:min(i+1, len(ml))], ""))
					break
				}
			}
		})
	}
}
