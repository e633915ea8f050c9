package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/interop-data/interop/api"
	"github.com/interop-data/interop/internal/breaking"
	"github.com/interop-data/interop/internal/syncbuf"
)

func git(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-c", "user.name=test", "-c", "user.email=test@example.com", "-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false"}, args...)...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
}

func write(t *testing.T, dir, name string, b []byte) {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// As make check-breaking runs it: a release tagged, then an operation
// removed. The command fails until CHANGELOG.md records the removal.
func TestCommand(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	dir := t.TempDir()
	git(t, dir, "init", "-q")
	write(t, dir, breaking.SpecPath, api.Spec)
	write(t, dir, breaking.ChangelogPath, []byte("# Changelog\n\n## [Unreleased]\n\n## [0.1.0] - 2026-11-30\n"))
	git(t, dir, "add", "-A")
	git(t, dir, "commit", "-q", "-m", "release")
	git(t, dir, "tag", "v0.1.0")

	var out, errOut syncbuf.Buffer
	if code := run([]string{"-C", dir}, &out, &errOut); code != 0 {
		t.Fatalf("unchanged spec: exit %d\n%s%s", code, out.String(), errOut.String())
	}

	var doc map[string]any
	if err := yaml.Unmarshal(api.Spec, &doc); err != nil {
		t.Fatal(err)
	}
	delete(doc["paths"].(map[string]any), "/rostering/terms")
	revised, _ := yaml.Marshal(doc)
	write(t, dir, breaking.SpecPath, revised)

	out, errOut = syncbuf.Buffer{}, syncbuf.Buffer{}
	code := run([]string{"-C", dir}, &out, &errOut)
	if code != 1 || !strings.Contains(errOut.String(), "not recorded in CHANGELOG.md") ||
		!strings.Contains(out.String(), "against v0.1.0") || !strings.Contains(out.String(), "BREAKING GET /rostering/terms") {
		t.Fatalf("unrecorded removal: exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errOut.String())
	}

	write(t, dir, breaking.ChangelogPath, []byte("# Changelog\n\n## [Unreleased]\n\n### Breaking\n\n- `GET /rostering/terms` is removed.\n\n## [0.1.0] - 2026-11-30\n"))
	out, errOut = syncbuf.Buffer{}, syncbuf.Buffer{}
	if code := run([]string{"-C", dir}, &out, &errOut); code != 0 || !strings.Contains(out.String(), "breaking (recorded) GET /rostering/terms") {
		t.Fatalf("recorded removal: exit %d\n%s%s", code, out.String(), errOut.String())
	}
	// A base that does not exist is an error, not a pass.
	if code := run([]string{"-C", dir, "-base", "no-such-ref"}, &out, &errOut); code != 1 {
		t.Fatalf("unknown base ref: exit %d", code)
	}
}
