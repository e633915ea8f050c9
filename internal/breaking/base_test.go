package breaking

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// repo is a throwaway git repository for tests of the base resolution.
type repo struct {
	t   testing.TB
	Dir string
}

// newRepo makes a repository in a temporary directory; it skips the test
// when git is missing.
func newRepo(t testing.TB) *repo {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	r := &repo{t: t, Dir: t.TempDir()}
	r.Git("init", "-q")
	return r
}

// Git runs git in the repository with a fixed identity and fails the test on
// error.
func (r *repo) Git(args ...string) string {
	r.t.Helper()
	cmd := exec.Command("git", append([]string{"-c", "user.name=test", "-c", "user.email=test@example.com", "-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false"}, args...)...)
	cmd.Dir = r.Dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		r.t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// Write writes a file of the repository.
func (r *repo) Write(name string, b []byte) {
	r.t.Helper()
	p := filepath.Join(r.Dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		r.t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		r.t.Fatal(err)
	}
}

// Commit writes the files and commits everything.
func (r *repo) Commit(msg string, files map[string][]byte) {
	r.t.Helper()
	for n, b := range files {
		r.Write(n, b)
	}
	r.Git("add", "-A")
	r.Git("commit", "-q", "-m", msg)
}

func TestBase(t *testing.T) {
	r := newRepo(t)
	r.Commit("first", map[string][]byte{SpecPath: []byte("v: first\n"), BaselinePath: []byte("v: baseline\n")})

	// No tag: the recorded baseline.
	b, from, err := Base(r.Dir, "")
	if err != nil || string(b) != "v: baseline\n" || from != BaselinePath+" (no release tag reachable)" {
		t.Fatalf("without tags: %q from %q, %v", b, from, err)
	}
	// A release tag wins over the baseline; later commits do not move it.
	r.Git("tag", "v0.1.0")
	r.Git("tag", "not-a-release")
	r.Commit("second", map[string][]byte{SpecPath: []byte("v: second\n")})
	b, from, err = Base(r.Dir, "")
	if err != nil || string(b) != "v: first\n" || from != "v0.1.0" {
		t.Fatalf("with v0.1.0: %q from %q, %v", b, from, err)
	}
	// A given ref wins over both.
	b, from, err = Base(r.Dir, "HEAD")
	if err != nil || !bytes.Equal(b, []byte("v: second\n")) || from != "HEAD" {
		t.Fatalf("BASE=HEAD: %q from %q, %v", b, from, err)
	}
	if _, _, err := Base(r.Dir, "no-such-ref"); err == nil {
		t.Fatal("an unknown ref gave a base")
	}
	// No tag and no baseline: an error that says so.
	empty := newRepo(t)
	empty.Commit("only", map[string][]byte{SpecPath: []byte("v: 1\n")})
	if _, _, err := Base(empty.Dir, ""); err == nil {
		t.Fatal("no tag and no baseline gave a base")
	}
}
