package readme

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var goBlock = regexp.MustCompile("(?s)```go\n(.*?)```")

// Every ```go block of README.md is a whole file (package clause, imports)
// that builds against this module as it is.
func TestReadmeSnippetsBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds every README snippet; skipped with -short")
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := goBlock.FindAllSubmatch(readme, -1)
	if len(blocks) == 0 {
		t.Fatal("README.md has no Go snippet")
	}
	for i, b := range blocks {
		src := string(b[1])
		if !strings.HasPrefix(src, "package ") {
			t.Errorf("snippet %d does not start with its package clause:\n%s", i+1, firstLines(src))
			continue
		}
		// A directory under this package, so the snippet builds inside the
		// module; "_" keeps it out of ./... patterns.
		dir, err := os.MkdirTemp(".", "_snippet")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = os.RemoveAll(dir) })
		if err := os.WriteFile(filepath.Join(dir, "main.go"), b[1], 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("go", "vet", "./"+dir)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("snippet %d does not build: %v\n%s\n%s", i+1, err, out, firstLines(src))
		}
	}
}

func firstLines(s string) string {
	lines := strings.SplitN(s, "\n", 6)
	return strings.Join(lines[:min(5, len(lines))], "\n")
}
