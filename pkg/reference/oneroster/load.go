package oneroster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"time"

	"github.com/google/uuid"

	"github.com/interop-data/interop/pkg/reference"
	"github.com/interop-data/interop/pkg/reference/store"
)

// Progress is reported while a load runs: Phase "read" while a file is
// staged and its rows checked (Bytes of Size read), "check" while the export
// is checked as a whole (duplicates, references), "apply" while objects are
// written (Rows of the file they come from).
type Progress struct {
	Phase string
	File  string
	Rows  int64
	Bytes int64
	Size  int64
	Done  bool // the file (or phase) is finished
}

// FileResult is what a load read of one file.
type FileResult struct {
	File    string
	Mode    Mode
	Rows    int
	Elapsed time.Duration
}

// Result reports a load.
type Result struct {
	Manifest Manifest
	Files    []FileResult
	// Skipped counts the rows read but not loaded, by reason ("users with
	// role parent", "orgs of type department", ...).
	Skipped map[string]int
	// Warnings are what the load read leniently (a file the manifest names
	// that is not there, files it does not read).
	Warnings []string
	// Sync is the store's account of the sync: its group id and how many
	// objects were added, changed, deleted and left as they were.
	Sync reference.SyncResult
	// Staging is where the export was read into and checked: "memory" or
	// "disk" (see WithMemoryLimit).
	Staging string
	Read    time.Duration // staging and checking
	Applied time.Duration // writing into the store
}

type config struct {
	now      func() time.Time
	errCap   int
	progress func(Progress)
	tmp      string
	memLimit int64
	// wrap, when set, stands between the builder and the sync writer (a
	// test records what the builder hands the store).
	wrap func(reference.SyncWriter) reference.SyncWriter
}

// Option configures Load.
type Option func(*config)

// WithClock sets the clock of the sync's tasks.
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// WithErrorCap sets how many errors of one file are listed (default DefaultErrorCap).
func WithErrorCap(n int) Option { return func(c *config) { c.errCap = n } }

// WithProgress receives progress reports (from the loading goroutine: keep
// it quick).
func WithProgress(fn func(Progress)) Option { return func(c *config) { c.progress = fn } }

// WithTempDir sets where the staging database is made (default: the
// system's temporary directory).
func WithTempDir(dir string) Option { return func(c *config) { c.tmp = dir } }

// WithMemoryLimit sets the size of export (the bytes of the CSV files it
// reads) up to which a load holds it in memory instead of a staging
// database on disk: 0 stages every export on disk. Default
// DefaultMemoryLimit.
func WithMemoryLimit(bytes int64) Option { return func(c *config) { c.memLimit = bytes } }

// DefaultMemoryLimit is the default of WithMemoryLimit. In memory the
// loader's resident memory peaks at about seven times its export's size
// (355 MiB for a 100,000-user district's 48.5 MiB, docs/PERFORMANCE.md).
const DefaultMemoryLimit = 64 << 20

// inMemory says whether the export is read into memory (memStage): it is
// small enough, and neither a delta file (whose rows replace the tenant's)
// nor the tenant's rows of a file that grows with the district (users,
// enrollments, classes, read from the store when their file is absent)
// would make it larger than its size says.
func inMemory(src *Source, m Manifest, limit int64) bool {
	size := int64(0)
	for _, f := range Files {
		switch m.Mode(f) {
		case Delta:
			return false
		case Absent:
			if f == FileUsers || f == FileEnrollments || f == FileClasses {
				return false
			}
		default:
			size += src.size(f + ".csv")
		}
	}
	return size <= limit
}

// Load reads the export src into tenant as one sync. A *ValidationError
// means the export is wrong and nothing changed; any other error also
// leaves the tenant as it was (the sync is one transaction).
func Load(ctx context.Context, st store.Store, tenant uuid.UUID, src *Source, opts ...Option) (Result, error) {
	c := config{now: time.Now, errCap: DefaultErrorCap, progress: func(Progress) {}, memLimit: DefaultMemoryLimit}
	for _, o := range opts {
		o(&c)
	}
	if _, err := st.FindTenant(ctx, tenant); err != nil {
		return Result{}, err
	}
	started := time.Now()
	res := Result{Skipped: map[string]int{}}
	errs := newErrorList(c.errCap)

	mf, err := src.open("manifest.csv")
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			errs.add(Error{File: "manifest.csv", Rule: RuleMissingFile, Msg: "the export has no manifest.csv"})
			return res, finish(errs)
		}
		return res, err
	}
	res.Manifest = readManifest(mf, errs)
	mf.Close()
	if errs.err() != nil {
		return res, finish(errs)
	}
	for _, f := range res.Manifest.Ignored {
		res.Warnings = append(res.Warnings, fmt.Sprintf("%s.csv is not read: the loader reads the rostering files only", f))
	}
	// A file the manifest names but the export lacks is read as absent, with
	// a warning: the vendor's own minimal sample names categories.csv as
	// bulk without shipping it, and deleting every grading category for a
	// file nobody sent would be the worse reading.
	for _, f := range Files {
		if res.Manifest.Mode(f) == Absent {
			continue
		}
		r, err := src.open(f + ".csv")
		if errors.Is(err, fs.ErrNotExist) {
			res.Warnings = append(res.Warnings, fmt.Sprintf("manifest.csv says %s is %s but the export has no %s.csv: read as absent", f, res.Manifest.Mode(f), f))
			res.Manifest.Modes[f] = Absent
			continue
		}
		if err != nil {
			return res, err
		}
		r.Close()
	}

	var stg stager
	if c.memLimit > 0 && inMemory(src, res.Manifest, c.memLimit) {
		stg, res.Staging = newMemStage(tenant), "memory"
	} else if stg, err = newStage(ctx, c.tmp, tenant); err != nil {
		return res, err
	} else {
		res.Staging = "disk"
	}
	defer stg.close()
	if err := (seeder{tenant, stg.put}).seed(ctx, st, res.Manifest); err != nil {
		return res, err
	}
	for _, f := range Files {
		mode := res.Manifest.Mode(f)
		if mode == Absent {
			continue
		}
		t0 := time.Now()
		n, err := readInto(ctx, stg, src, f, errs, c.progress)
		if err != nil {
			return res, err
		}
		res.Files = append(res.Files, FileResult{File: f, Mode: mode, Rows: n, Elapsed: time.Since(t0)})
	}
	c.progress(Progress{Phase: "check"})
	if err := stg.seal(ctx); err != nil {
		return res, err
	}
	if err := stg.merge(ctx); err != nil {
		return res, err
	}
	if err := stg.references(ctx, errs, res.Manifest); err != nil {
		return res, err
	}
	if err := stg.duplicates(ctx, errs); err != nil {
		return res, err
	}
	c.progress(Progress{Phase: "check", Done: true})
	if errs.err() != nil {
		locateColumns(src, errs.v.Errors)
		return res, finish(errs)
	}
	if err := stg.order(ctx); err != nil {
		return res, err
	}
	res.Read = time.Since(started)

	t0 := time.Now()
	b := &builder{r: stg, tenant: tenant, skipped: res.Skipped, progress: func(file string, rows int64) {
		if rows%1000 == 0 {
			c.progress(Progress{Phase: "apply", File: file, Rows: rows})
		}
	}}
	if err := b.loadSmall(ctx); err != nil {
		return res, fmt.Errorf("oneroster: %w", err)
	}
	res.Sync, err = reference.ApplySync(ctx, st, tenant, c.now().UTC(), reference.SyncOptions{}, func(w reference.SyncWriter) error {
		// A store may run the sync again (see store.Store.Sync): count
		// the skipped rows of the last run only.
		clear(res.Skipped)
		b.w = w
		if c.wrap != nil {
			b.w = c.wrap(w)
		}
		for _, step := range []func(context.Context) error{b.orgsOut, b.termsOut, b.coursesOut, b.sectionsOut, b.personsOut, b.categoriesOut} {
			if err := step(ctx); err != nil {
				return err
			}
		}
		return b.deletes(ctx, res.Manifest)
	})
	if err != nil {
		return res, err
	}
	c.progress(Progress{Phase: "apply", Done: true})
	res.Applied = time.Since(t0)
	return res, nil
}

func finish(errs *errorList) error {
	err := errs.err()
	if v, ok := AsValidation(err); ok {
		sortErrors(v)
	}
	return err
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// readInto stages one file of the export.
func readInto(ctx context.Context, s stager, src *Source, file string, errs *errorList, progress func(Progress)) (int, error) {
	size := src.size(file + ".csv")
	rc, err := src.open(file + ".csv")
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	cr := &countingReader{r: rc}
	n := int64(0)
	progress(Progress{Phase: "read", File: file, Size: size})
	rows, err := readFile(file, cr, errs, func(v any) error {
		n++
		if n%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
			progress(Progress{Phase: "read", File: file, Rows: n, Bytes: cr.n, Size: size})
		}
		return s.add(ctx, file, v)
	})
	progress(Progress{Phase: "read", File: file, Rows: int64(rows), Bytes: cr.n, Size: size, Done: true})
	return rows, err
}
