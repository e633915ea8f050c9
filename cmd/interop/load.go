package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/interop-data/interop/internal/peakrss"
	"github.com/interop-data/interop/pkg/reference/oneroster"
	"github.com/interop-data/interop/pkg/reference/store"
	"github.com/interop-data/interop/pkg/reference/store/open"
)

func init() {
	commands["load"] = command{summary: "load a OneRoster 1.1 CSV export (directory or .zip) into a tenant as one sync", run: runLoad}
}

const loadUsage = "usage: interop load --db PATH --tenant ID|CLIENT_ID|NAME [--json] [--max-errors N] [--memory-limit BYTES] EXPORT_DIR_OR_ZIP"

// runLoad loads an export. Bad input is listed (file, line, column, rule)
// and exits 1 with the tenant unchanged. On a terminal a progress bar per
// file shows rows per second; otherwise a plain summary is printed at the
// end, or with --json one JSON document for programs.
func runLoad(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	db := fs.String("db", "./interop.db", "the reference server's database (it must exist)")
	tenantFlag := fs.String("tenant", "", "the tenant to load into: its id, client id or name (required; a name several tenants share is refused)")
	asJSON := fs.Bool("json", false, "print the summary (or the errors) as JSON on stdout")
	maxErrors := fs.Int("max-errors", oneroster.DefaultErrorCap, "errors listed per file before they are only counted")
	memLimit := fs.Int64("memory-limit", oneroster.DefaultMemoryLimit, "the size in bytes of the CSV files up to which an export is checked in memory, not in a staging database on disk (0: always on disk)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, loadUsage)
		fs.PrintDefaults()
	}
	path, err := parseWithOneArg(fs, args, stderr)
	if err != nil {
		return err
	}
	if *tenantFlag == "" || path == "" {
		if *tenantFlag == "" {
			fmt.Fprintln(stderr, "interop load: --tenant is missing: the tenant to load into, by id, client id or name")
		}
		if path == "" {
			fmt.Fprintln(stderr, "interop load: the export is missing: give the OneRoster export (a directory or .zip) as the last argument")
		}
		fmt.Fprintln(stderr, loadUsage)
		return exitError(2)
	}
	st, tenant, err := openTenant(ctx, *db, *tenantFlag)
	if err != nil {
		return err
	}
	defer st.Close()
	src, err := oneroster.Open(path)
	if err != nil {
		return err
	}
	defer src.Close()

	var prog *loadProgress
	if *memLimit < 0 {
		fmt.Fprintln(stderr, "interop load: --memory-limit must be 0 or more")
		return exitError(2)
	}
	opts := []oneroster.Option{oneroster.WithErrorCap(*maxErrors), oneroster.WithMemoryLimit(*memLimit)}
	if f, ok := stderr.(*os.File); ok && !*asJSON && term.IsTerminal(int(f.Fd())) {
		prog = &loadProgress{w: stderr}
		opts = append(opts, oneroster.WithProgress(prog.report))
	}
	started := time.Now()
	res, err := oneroster.Load(ctx, st, tenant.ID, src, opts...)
	prog.finish()
	if v, ok := oneroster.AsValidation(err); ok {
		if *asJSON {
			writeJSON(stdout, validationJSON(v))
		} else {
			fmt.Fprintf(stderr, "interop load: %s: %v\n", src.Name(), v)
		}
		return exitError(1)
	}
	if err != nil {
		return err
	}
	sum := summarize(tenant, src.Name(), res, time.Since(started))
	if *asJSON {
		writeJSON(stdout, sum)
		return nil
	}
	sum.print(stdout)
	return nil
}

// parseWithOneArg parses flags given before or after the one positional
// argument, which it returns ("" when absent). More than one is status 2.
func parseWithOneArg(fs *flag.FlagSet, args []string, stderr io.Writer) (string, error) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return "", exitError(0)
		}
		return "", exitError(2)
	}
	if fs.NArg() == 0 {
		return "", nil
	}
	arg := fs.Arg(0)
	if err := parseFlags(fs, fs.Args()[1:], stderr); err != nil {
		return "", err
	}
	return arg, nil
}

// exists reports whether path exists (a permission error counts as
// existing: opening it then says what is wrong).
func exists(path string) bool {
	_, err := os.Stat(path)
	return !errors.Is(err, os.ErrNotExist)
}

// openTenant opens an existing database and resolves --tenant in it (see
// findTenant); the caller closes the store.
func openTenant(ctx context.Context, db, tenant string) (store.Store, store.Tenant, error) {
	st, err := open.Existing(ctx, db)
	if err != nil {
		return nil, store.Tenant{}, err
	}
	t, err := findTenant(ctx, st, tenant)
	if err != nil {
		st.Close()
		return nil, store.Tenant{}, err
	}
	return st, t, nil
}

// findTenant resolves --tenant: a tenant id, else a client id, else a
// tenant name. Names are not unique: a name several tenants share is an
// error that lists their ids, so a command never picks one by chance.
func findTenant(ctx context.Context, st store.Store, s string) (store.Tenant, error) {
	if id, err := uuid.Parse(s); err == nil {
		t, err := st.FindTenant(ctx, id)
		if err == nil || !errors.Is(err, store.ErrNotFound) {
			return t, err
		}
	}
	t, err := st.FindTenantByClientID(ctx, s)
	if err == nil || !errors.Is(err, store.ErrNotFound) {
		return t, err
	}
	named, err := st.FindTenantsByName(ctx, s)
	if err != nil {
		return store.Tenant{}, err
	}
	switch len(named) {
	case 0:
		return store.Tenant{}, fmt.Errorf("no tenant has the id, client id or name %q", s)
	case 1:
		return named[0], nil
	}
	ids := make([]string, len(named))
	for i, t := range named {
		ids[i] = t.ID.String()
	}
	return store.Tenant{}, fmt.Errorf("ambiguous: %d tenants are named %q, give the id (one of %s)", len(named), s, strings.Join(ids, ", "))
}

func writeJSON(w io.Writer, v any) {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

type errorJSON struct {
	File    string `json:"file"`
	Line    int    `json:"line,omitempty"`
	Column  int    `json:"column,omitempty"`
	Field   string `json:"field,omitempty"`
	Rule    string `json:"rule"`
	Message string `json:"message"`
}

func validationJSON(v *oneroster.ValidationError) any {
	out := struct {
		Errors  []errorJSON    `json:"errors"`
		Omitted map[string]int `json:"omitted,omitempty"`
	}{Omitted: v.Omitted}
	for _, e := range v.Errors {
		out.Errors = append(out.Errors, errorJSON{e.File, e.Line, e.Column, e.Field, e.Rule, e.Msg})
	}
	return out
}

type fileJSON struct {
	File       string  `json:"file"`
	Mode       string  `json:"mode"`
	Rows       int     `json:"rows"`
	Seconds    float64 `json:"seconds"`
	RowsPerSec float64 `json:"rows_per_second"`
}

type loadSummary struct {
	TenantID  uuid.UUID         `json:"tenant_id"`
	Export    string            `json:"export"`
	Modes     map[string]string `json:"modes"`
	Files     []fileJSON        `json:"files"`
	Skipped   map[string]int    `json:"skipped,omitempty"`
	Warnings  []string          `json:"warnings,omitempty"`
	GroupID   uuid.UUID         `json:"group_id"`
	Added     int               `json:"added"`
	Changed   int               `json:"changed"`
	Deleted   int               `json:"deleted"`
	Unchanged int               `json:"unchanged"`
	Staging   string            `json:"staging"`
	ReadSec   float64           `json:"read_seconds"`
	ApplySec  float64           `json:"apply_seconds"`
	TotalSec  float64           `json:"total_seconds"`
	PeakRSS   int64             `json:"peak_rss_bytes,omitempty"`
}

func summarize(t store.Tenant, export string, res oneroster.Result, total time.Duration) loadSummary {
	s := loadSummary{TenantID: t.ID, Export: export, Modes: map[string]string{}, Skipped: res.Skipped, Warnings: res.Warnings,
		GroupID: res.Sync.GroupID, Added: res.Sync.Added, Changed: res.Sync.Changed, Deleted: res.Sync.Deleted, Unchanged: res.Sync.Unchanged,
		Staging: res.Staging, ReadSec: res.Read.Seconds(), ApplySec: res.Applied.Seconds(), TotalSec: total.Seconds(), PeakRSS: peakrss.Bytes()}
	for _, f := range oneroster.Files {
		s.Modes[f] = string(res.Manifest.Mode(f))
	}
	for _, f := range res.Files {
		fj := fileJSON{File: f.File + ".csv", Mode: string(f.Mode), Rows: f.Rows, Seconds: f.Elapsed.Seconds()}
		if f.Elapsed > 0 {
			fj.RowsPerSec = float64(f.Rows) / f.Elapsed.Seconds()
		}
		s.Files = append(s.Files, fj)
	}
	return s
}

func (s loadSummary) print(w io.Writer) {
	fmt.Fprintf(w, "loaded %s into tenant %s (sync %s)\n", s.Export, s.TenantID, s.GroupID)
	for _, f := range s.Files {
		fmt.Fprintf(w, "  %-22s %-6s %9d rows %10.0f rows/s\n", f.File, f.Mode, f.Rows, f.RowsPerSec)
	}
	fmt.Fprintf(w, "  objects: %d added, %d changed, %d deleted, %d unchanged\n", s.Added, s.Changed, s.Deleted, s.Unchanged)
	keys := make([]string, 0, len(s.Skipped))
	for k := range s.Skipped {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(w, "  not loaded: %d %s\n", s.Skipped[k], k)
	}
	for _, x := range s.Warnings {
		fmt.Fprintf(w, "  warning: %s\n", x)
	}
	fmt.Fprintf(w, "  time: %.2fs reading and checking (staged %s), %.2fs applying", s.ReadSec, stagedWhere(s.Staging), s.ApplySec)
	if s.PeakRSS > 0 {
		fmt.Fprintf(w, "; peak RSS %.1f MiB", float64(s.PeakRSS)/(1<<20))
	}
	fmt.Fprintln(w)
}

// loadProgress draws a bar per file on a terminal: bytes while a file is
// read and checked, objects while they are applied, each with its rate.
// A nil *loadProgress draws nothing.
type loadProgress struct {
	w       io.Writer
	bar     *progressbar.ProgressBar
	key     string
	started time.Time
}

func (p *loadProgress) report(pr oneroster.Progress) {
	key := pr.Phase + "/" + pr.File
	if pr.Done && (p.bar == nil || key != p.key) {
		p.finish() // the end of a phase: nothing new to draw
		return
	}
	if p.bar == nil || key != p.key {
		p.finish()
		p.key, p.started = key, time.Now()
		spinner := func(desc string) *progressbar.ProgressBar {
			return progressbar.NewOptions64(-1, progressbar.OptionSetWriter(p.w), progressbar.OptionSetItsString("rows"),
				progressbar.OptionShowIts(), progressbar.OptionShowCount(),
				progressbar.OptionSetDescription(fmt.Sprintf("%-22s", desc)), progressbar.OptionThrottle(100*time.Millisecond))
		}
		switch pr.Phase {
		case "read":
			p.bar = progressbar.NewOptions64(max(pr.Size, 1), progressbar.OptionSetWriter(p.w), progressbar.OptionShowBytes(true),
				progressbar.OptionSetDescription(fmt.Sprintf("%-22s", pr.File+".csv")), progressbar.OptionThrottle(100*time.Millisecond),
				progressbar.OptionSetWidth(30))
		case "check":
			p.bar = spinner("checking references")
		default:
			p.bar = spinner("applying " + pr.File)
		}
	}
	if pr.Phase == "read" {
		rate := float64(pr.Rows) / max(time.Since(p.started).Seconds(), 1e-3)
		p.bar.Describe(fmt.Sprintf("%-22s %9d rows %8.0f rows/s", pr.File+".csv", pr.Rows, rate))
		_ = p.bar.Set64(pr.Bytes)
	} else {
		_ = p.bar.Set64(pr.Rows)
	}
	if pr.Done {
		p.finish()
	}
}

func (p *loadProgress) finish() {
	if p == nil || p.bar == nil {
		return
	}
	_ = p.bar.Finish()
	fmt.Fprintln(p.w)
	p.bar = nil
}

// stagedWhere says where an export was checked.
func stagedWhere(staging string) string {
	if staging == "memory" {
		return "in memory"
	}
	return "on disk"
}
