package breaking

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Paths inside the repository.
const (
	SpecPath      = "api/openapi.yaml"
	BaselinePath  = "api/released.yaml" // the spec as last released, for clones without tags
	ChangelogPath = "CHANGELOG.md"
)

// Base returns the spec to compare against, read in the repository at dir,
// and says where it came from: ref's api/openapi.yaml when ref is given,
// else the newest release tag's (v*, reachable from HEAD), else the
// recorded baseline, api/released.yaml.
func Base(dir, ref string) (spec []byte, from string, err error) {
	if ref == "" {
		ref, err = lastRelease(dir)
		if err != nil {
			return nil, "", err
		}
	}
	if ref == "" {
		b, err := os.ReadFile(filepath.Join(dir, BaselinePath))
		if err != nil {
			return nil, "", fmt.Errorf("breaking: no release tag (v*) and no recorded baseline: %w", err)
		}
		return b, BaselinePath + " (no release tag reachable)", nil
	}
	b, err := git(dir, "show", ref+":"+SpecPath)
	if err != nil {
		return nil, "", fmt.Errorf("breaking: %s of %s: %w", SpecPath, ref, err)
	}
	return b, ref, nil
}

// lastRelease is the newest v* tag reachable from HEAD, or "" when there is
// none (a fresh clone without tags, a shallow clone).
func lastRelease(dir string) (string, error) {
	out, err := git(dir, "describe", "--tags", "--abbrev=0", "--match", "v[0-9]*")
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return "", nil // no names found: no release yet, or tags not fetched
		}
		return "", err
	}
	return strings.TrimSpace(string(out)), nil
}

func git(dir string, args ...string) ([]byte, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		if msg := strings.TrimSpace(stderr.String()); msg != "" {
			return nil, fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, msg)
		}
		return nil, fmt.Errorf("git %s: %w", strings.Join(args, " "), err)
	}
	return out, nil
}
