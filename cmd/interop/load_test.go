package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/interop-data/interop/pkg/reference"
	"github.com/interop-data/interop/pkg/reference/store"
	"github.com/interop-data/interop/pkg/reference/store/open"
)

// cli runs the command line and returns its exit status and output.
func cli(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut syncBuffer
	code := run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

const samples = "../../pkg/reference/oneroster/testdata/"

func newTenant(t *testing.T, db string) reference.TenantCredentials {
	t.Helper()
	code, out, errOut := cli(t, "tenant", "create", "--db", db, "--create", "--name", "District")
	if code != 0 {
		t.Fatalf("tenant create: %d %s", code, errOut)
	}
	var creds reference.TenantCredentials
	if err := json.Unmarshal([]byte(out), &creds); err != nil {
		t.Fatal(err)
	}
	return creds
}

func objectCount(t *testing.T, db string, tenant uuid.UUID) int {
	t.Helper()
	st, err := open.Store(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	n := 0
	for _, k := range []store.Kind{store.KindOrg, store.KindPerson, store.KindSection, store.KindPersonSectionMembership} {
		objs, _, err := st.ListObjects(context.Background(), store.ObjectQuery{Tenants: []uuid.UUID{tenant}, Kind: k, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		n += len(objs)
	}
	return n
}

func TestLoadCommand(t *testing.T) {
	db := filepath.Join(t.TempDir(), "interop.db")
	creds := newTenant(t, db)

	// Not a terminal: a plain summary. Flags may follow the export.
	code, out, errOut := cli(t, "load", "--db", db, samples+"minimal", "--tenant", creds.TenantID.String())
	if code != 0 {
		t.Fatalf("load: %d %s", code, errOut)
	}
	for _, want := range []string{"users.csv              bulk           8 rows", "31 added, 0 changed, 0 deleted", "not loaded: 1 users with role proctor",
		"warning: manifest.csv says categories is bulk but the export has no categories.csv", "(staged in memory)", "peak RSS"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}

	// --json, by client id, staged on disk: the same export again changes nothing.
	code, out, errOut = cli(t, "load", "--db", db, "--tenant", creds.ClientID, "--json", "--memory-limit", "0", samples+"minimal")
	if code != 0 {
		t.Fatalf("load --json: %d %s", code, errOut)
	}
	var sum loadSummary
	if err := json.Unmarshal([]byte(out), &sum); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if sum.TenantID != creds.TenantID || sum.Added+sum.Changed+sum.Deleted != 0 || sum.Unchanged != 31 || len(sum.Files) != 7 || sum.Modes["users"] != "bulk" ||
		sum.Staging != "disk" {
		t.Errorf("summary %+v", sum)
	}

	// Bad input: every error listed, status 1, nothing changed.
	broken := t.TempDir()
	for _, f := range []string{"manifest.csv", "orgs.csv", "users.csv"} {
		b, err := os.ReadFile(samples + "recommended/" + f)
		if err != nil {
			t.Fatal(err)
		}
		if f == "users.csv" {
			b = []byte(strings.Replace(string(b), ",student,", ",pupil,", 2))
		}
		if err := os.WriteFile(filepath.Join(broken, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	m, _ := os.ReadFile(filepath.Join(broken, "manifest.csv"))
	m = []byte(strings.NewReplacer("file.academicSessions,bulk", "file.academicSessions,absent", "file.categories,bulk", "file.categories,absent",
		"file.classes,bulk", "file.classes,absent", "file.courses,bulk", "file.courses,absent", "file.demographics,bulk", "file.demographics,absent",
		"file.enrollments,bulk", "file.enrollments,absent").Replace(string(m)))
	if err := os.WriteFile(filepath.Join(broken, "manifest.csv"), m, 0o644); err != nil {
		t.Fatal(err)
	}
	before := objectCount(t, db, creds.TenantID)
	code, _, errOut = cli(t, "load", "--db", db, "--tenant", creds.ClientID, broken)
	if code != 1 || !strings.Contains(errOut, `users.csv:4:24: role: "pupil" is not one of student, teacher`) ||
		!strings.Contains(errOut, `users.csv:5:24: role:`) || !strings.Contains(errOut, "2 error(s); nothing was loaded") {
		t.Errorf("broken load: %d\n%s", code, errOut)
	}
	code, out, _ = cli(t, "load", "--db", db, "--tenant", creds.ClientID, "--json", broken)
	var errs struct {
		Errors []errorJSON `json:"errors"`
	}
	if code != 1 || json.Unmarshal([]byte(out), &errs) != nil || len(errs.Errors) != 2 || errs.Errors[0] != (errorJSON{File: "users.csv", Line: 4, Column: 24,
		Field: "role", Rule: "vocabulary", Message: `"pupil" is not one of student, teacher, administrator, aide, parent, guardian, relative, proctor`}) {
		t.Errorf("broken load --json: %d %s", code, out)
	}
	if after := objectCount(t, db, creds.TenantID); after != before {
		t.Errorf("the tenant changed: %d objects, then %d", before, after)
	}

	// Usage errors are status 2; a database that is not there is refused.
	if code, _, _ := cli(t, "load", "--db", db, samples+"minimal"); code != 2 {
		t.Errorf("no --tenant: %d", code)
	}
	if code, _, _ := cli(t, "load", "--db", db, "--tenant", "x", "a", "b"); code != 2 {
		t.Errorf("two exports: %d", code)
	}
	if code, _, errOut := cli(t, "load", "--db", db, "--tenant", creds.ClientID, "--memory-limit", "-1", samples+"minimal"); code != 2 || !strings.Contains(errOut, "--memory-limit") {
		t.Errorf("a negative memory limit: %d %s", code, errOut)
	}
	missing := filepath.Join(t.TempDir(), "nope.db")
	if code, _, errOut := cli(t, "load", "--db", missing, "--tenant", "x", samples+"minimal"); code != 1 || !strings.Contains(errOut, "no such file") {
		t.Errorf("missing database: %d %s", code, errOut)
	}
	if _, err := os.Stat(missing); err == nil {
		t.Error("load created the database")
	}
}

func TestTenantCreateRefusesNewFile(t *testing.T) {
	db := filepath.Join(t.TempDir(), "typo.db")
	code, _, errOut := cli(t, "tenant", "create", "--db", db, "--name", "X")
	if code != 1 || !strings.Contains(errOut, "does not exist") || !strings.Contains(errOut, "--create") {
		t.Errorf("tenant create on a new path: %d %s", code, errOut)
	}
	if _, err := os.Stat(db); err == nil {
		t.Fatal("the file was created")
	}
	newTenant(t, db) // with --create
	if code, _, errOut := cli(t, "tenant", "create", "--db", db, "--name", "Y"); code != 0 {
		t.Errorf("tenant create on an existing file: %d %s", code, errOut)
	}
}

func TestTenantReset(t *testing.T) {
	db := filepath.Join(t.TempDir(), "interop.db")
	creds := newTenant(t, db)
	if code, _, errOut := cli(t, "load", "--db", db, "--tenant", creds.ClientID, samples+"recommended"); code != 0 {
		t.Fatal(errOut)
	}
	n := objectCount(t, db, creds.TenantID)
	code, _, errOut := cli(t, "tenant", "reset", "--db", db, "--tenant", creds.ClientID)
	if code != 2 || !strings.Contains(errOut, "add --yes") || objectCount(t, db, creds.TenantID) != n {
		t.Errorf("reset without --yes: %d %s", code, errOut)
	}
	code, out, errOut := cli(t, "tenant", "reset", "--db", db, "--tenant", creds.TenantID.String(), "--yes")
	if code != 0 || !strings.Contains(out, "reset") {
		t.Fatalf("reset: %d %s", code, errOut)
	}
	if got := objectCount(t, db, creds.TenantID); got != 0 {
		t.Errorf("%d objects after reset", got)
	}
	st, err := open.Store(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	tasks, _, err := st.ListTasks(context.Background(), store.TaskQuery{Tenants: []uuid.UUID{creds.TenantID}, Limit: 10})
	if err != nil || len(tasks) != 0 {
		t.Errorf("tasks after reset: %v %v", len(tasks), err)
	}
	if code, _, _ := cli(t, "tenant", "reset", "--db", db, "--tenant", "nobody", "--yes"); code != 1 {
		t.Errorf("reset of an unknown tenant: %d", code)
	}
}

// serve --demo on a database holding the demo leaves it alone and says how
// to start over; after tenant reset, serve --demo's rule (no demo org: load
// the district) fills it again.
func TestServeDemoAgainAndReset(t *testing.T) {
	ctx := context.Background()
	db := filepath.Join(t.TempDir(), "interop.db")
	st, err := open.Store(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	small := reference.DemoSize{Schools: 1, StudentsPerSchool: 4, TeachersPerSchool: 1, CoursesPerSchool: 1, SectionsPerCourse: 1, StudentsPerSection: 2}
	if _, err := reference.EnsureDemo(ctx, st, small, time.Now()); err != nil {
		t.Fatal(err)
	}
	st.Close()

	srv := startServe(t, "--db", db, "--demo")
	if !strings.Contains(srv.Out.String(), "tenant reset --db "+db+" --tenant demo --yes") {
		t.Errorf("serve --demo on an old demo does not say how to reset it:\n%s", srv.Out.String())
	}
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := cli(t, "tenant", "reset", "--db", db, "--tenant", "demo", "--yes"); code != 0 || !strings.Contains(out, "serve --demo loads the demo district") {
		t.Fatalf("reset: %d %s %s", code, out, errOut)
	}
	st, err = open.Store(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if demoLoaded(ctx, st) {
		t.Error("after a reset the demo still holds its district")
	}
	demo, err := st.FindTenantByClientID(ctx, reference.DemoClientID)
	if err != nil {
		t.Fatal(err)
	}
	if tasks, _, err := st.ListTasks(ctx, store.TaskQuery{Tenants: []uuid.UUID{demo.ID}, Limit: 1}); err != nil || len(tasks) != 0 {
		t.Errorf("tasks after reset: %d %v", len(tasks), err)
	}
}

// --tenant takes a name too: a unique name loads and resets that tenant, a
// name two tenants share is refused (status 1, listing both ids, nothing
// loaded), and an unknown name says so.
func TestTenantByName(t *testing.T) {
	db := filepath.Join(t.TempDir(), "interop.db")
	district := newTenant(t, db) // named "District"
	code, out, errOut := cli(t, "tenant", "create", "--db", db, "--name", "Other school")
	if code != 0 {
		t.Fatalf("tenant create: %d %s", code, errOut)
	}
	var other reference.TenantCredentials
	if err := json.Unmarshal([]byte(out), &other); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := cli(t, "load", "--db", db, "--tenant", "Other school", samples+"recommended"); code != 0 {
		t.Fatalf("load by unique name: %d %s", code, errOut)
	}
	if objectCount(t, db, other.TenantID) == 0 || objectCount(t, db, district.TenantID) != 0 {
		t.Fatal("load by name filled the wrong tenant")
	}

	twin := newTenant(t, db) // a second "District"
	code, _, errOut = cli(t, "load", "--db", db, "--tenant", "District", samples+"recommended")
	if code != 1 || !strings.Contains(errOut, `ambiguous: 2 tenants are named "District", give the id`) ||
		!strings.Contains(errOut, district.TenantID.String()) || !strings.Contains(errOut, twin.TenantID.String()) {
		t.Errorf("load by a shared name: %d %s", code, errOut)
	}
	if objectCount(t, db, district.TenantID) != 0 || objectCount(t, db, twin.TenantID) != 0 {
		t.Error("an ambiguous name loaded into a tenant")
	}
	if code, _, errOut := cli(t, "tenant", "reset", "--db", db, "--tenant", "District", "--yes"); code != 1 || !strings.Contains(errOut, "ambiguous") {
		t.Errorf("reset by a shared name: %d %s", code, errOut)
	}
	code, _, errOut = cli(t, "load", "--db", db, "--tenant", "Nobody", samples+"recommended")
	if code != 1 || !strings.Contains(errOut, `no tenant has the id, client id or name "Nobody"`) {
		t.Errorf("load by an unknown name: %d %s", code, errOut)
	}
	if code, out, errOut := cli(t, "tenant", "reset", "--db", db, "--tenant", "Other school", "--yes"); code != 0 || !strings.Contains(out, other.TenantID.String()) {
		t.Fatalf("reset by unique name: %d %s", code, errOut)
	}
	if n := objectCount(t, db, other.TenantID); n != 0 {
		t.Errorf("%d objects after reset by name", n)
	}
}
