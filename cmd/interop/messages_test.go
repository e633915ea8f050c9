package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Mistakes a newcomer makes get a message that says what to do.
func TestMessagesSayWhatToDo(t *testing.T) {
	t.Parallel()
	missing := filepath.Join(t.TempDir(), "no-such-dir", "interop.db")
	export := filepath.Join(t.TempDir(), "export")
	for name, tc := range map[string]struct {
		args   []string
		status int
		want   []string
		not    []string
	}{
		"serve in a missing directory": {[]string{"serve", "--addr", "127.0.0.1:0", "--db", missing}, 1,
			[]string{"the directory " + filepath.Dir(missing) + " does not exist"}, []string{"(14)"}},
		"tenant create in a missing directory": {[]string{"tenant", "create", "--db", missing, "--name", "A"}, 1,
			[]string{"the directory " + filepath.Dir(missing) + " does not exist"}, []string{"--create"}},
		"tenant create --create in a missing directory": {[]string{"tenant", "create", "--db", missing, "--name", "A", "--create"}, 1,
			[]string{"the directory " + filepath.Dir(missing) + " does not exist"}, []string{"(14)"}},
		"load into a missing directory": {[]string{"load", "--db", missing, "--tenant", "demo", export}, 1,
			[]string{"the directory " + filepath.Dir(missing) + " does not exist"}, nil},
		"task lease without a unit": {[]string{"serve", "--task-lease", "5"}, 2,
			[]string{"a duration needs a unit: 5s, 5m or 5h"}, []string{"parse error"}},
		"task lease not a duration": {[]string{"serve", "--task-lease", "soon"}, 2,
			[]string{"not a duration", "30s, 5m"}, []string{"parse error"}},
		"conformance lease wait without a unit": {[]string{"conformance", "--lease-wait", "300"}, 2,
			[]string{"a duration needs a unit: 300s"}, nil},
		"load without an export": {[]string{"load", "--tenant", "demo"}, 2,
			[]string{"the export is missing"}, []string{"--tenant is missing"}},
		"load without a tenant": {[]string{"load", export}, 2,
			[]string{"--tenant is missing"}, []string{"export is missing"}},
		"tenant create without a name": {[]string{"tenant", "create", "--db", missing}, 2,
			[]string{"--name is missing"}, nil},
		"tenant reset without a tenant": {[]string{"tenant", "reset", "--yes"}, 2,
			[]string{"--tenant is missing"}, nil},
	} {
		t.Run(name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			got := run(t.Context(), tc.args, &out, &errOut)
			if got != tc.status {
				t.Errorf("exit status %d, want %d\n%s", got, tc.status, errOut.String())
			}
			for _, w := range tc.want {
				if !strings.Contains(errOut.String(), w) {
					t.Errorf("stderr does not say %q:\n%s", w, errOut.String())
				}
			}
			for _, w := range tc.not {
				if strings.Contains(errOut.String(), w) {
					t.Errorf("stderr says %q:\n%s", w, errOut.String())
				}
			}
		})
	}
	if _, err := os.Stat(filepath.Dir(missing)); !os.IsNotExist(err) {
		t.Errorf("a command created %s: %v", filepath.Dir(missing), err)
	}
}

// Start-up prints where the API reference is, the public URL when one is
// set, and, for a database without tenants, that every request will be
// refused and how to create one; the reset hint of an old demo pastes as
// printed, whatever the path holds.
func TestServeStartupLines(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "a dir & more", "interop.db")
	if err := os.MkdirAll(filepath.Dir(db), 0o755); err != nil {
		t.Fatal(err)
	}
	srv := startServe(t, "--db", db, "--public-url", "https://interop.example.org/")
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	out := srv.Out.String()
	host := strings.TrimSuffix(strings.TrimPrefix(srv.Base, "http://"), "/v2/interop/data")
	for _, want := range []string{
		"API reference: http://" + host + "/docs",
		"public URL: https://interop.example.org/v2/interop/data",
		"this database holds no tenant",
		"interop tenant create --db '" + db + "' --name NAME",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("start-up output lacks %q:\n%s", want, out)
		}
	}

	for range 2 { // the second start finds the demo there
		srv = startServe(t, "--db", db, "--demo")
		if err := srv.Stop(); err != nil {
			t.Fatal(err)
		}
	}
	out = srv.Out.String()
	if !strings.Contains(out, "interop tenant reset --db '"+db+"' --tenant demo --yes") || strings.Contains(out, "holds no tenant") {
		t.Errorf("the reset hint is not quoted for the shell:\n%s", out)
	}
}

func TestShellQuote(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"./interop.db": "./interop.db",
		"postgres://u:xxxxx@db:5432/interop?sslmode=disable&search_path=a": `'postgres://u:xxxxx@db:5432/interop?sslmode=disable&search_path=a'`,
		"it's":  `'it'\''s'`,
		"":      "''",
		"a b":   "'a b'",
		"$HOME": "'$HOME'",
	} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %s, want %s", in, got, want)
		}
	}
}
