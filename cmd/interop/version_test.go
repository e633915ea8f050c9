package main

import (
	"context"
	"io"
	"os"
	"regexp"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/interop-data/interop/pkg/client"
)

func TestVersionText(t *testing.T) {
	for _, tc := range []struct {
		name string
		bi   *debug.BuildInfo
		want []string
		not  []string
	}{
		{"go install @v", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/interop-data/interop", Version: "v" + client.Version}},
			[]string{"interop " + client.Version + "\n", "module:   github.com/interop-data/interop v" + client.Version + "\n", "revision: unknown", "go:       go1.26.8 "},
			[]string{"warning"}},
		{"checkout build", &debug.BuildInfo{Main: debug.Module{Path: "github.com/interop-data/interop", Version: "v0.1.1-0.20261130070000-f910b39c0ffe+dirty"},
			Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "f910b39c0ffee"}, {Key: "vcs.time", Value: "2026-11-30T07:00:00Z"}, {Key: "vcs.modified", Value: "true"}}},
			[]string{"revision: f910b39c0ffee (2026-11-30T07:00:00Z, with uncommitted changes)\n"},
			[]string{"warning"}},
		{"devel", &debug.BuildInfo{Main: debug.Module{Path: "github.com/interop-data/interop", Version: "(devel)"}},
			[]string{"github.com/interop-data/interop (devel)\n"}, nil},
		{"tag and code disagree", &debug.BuildInfo{Main: debug.Module{Path: "github.com/interop-data/interop", Version: "v9.9.9"}},
			[]string{"warning:  the module version v9.9.9 is not the release " + client.Version}, nil},
		{"no build info", nil, []string{"unknown (no build information)"}, nil},
	} {
		got := versionText(tc.bi)
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: output lacks %q:\n%s", tc.name, w, got)
			}
		}
		for _, w := range tc.not {
			if strings.Contains(got, w) {
				t.Errorf("%s: output has %q:\n%s", tc.name, w, got)
			}
		}
	}
	if code := run(context.Background(), []string{"version"}, io.Discard, io.Discard); code != 0 {
		t.Errorf("interop version: exit %d", code)
	}
	if code := run(context.Background(), []string{"version", "extra"}, io.Discard, io.Discard); code != 2 {
		t.Errorf("interop version extra: exit %d, want 2", code)
	}
}

// The release the code names is the newest one the CHANGELOG lists.
func TestVersionMatchesChangelog(t *testing.T) {
	b, err := os.ReadFile("../../CHANGELOG.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^## \[(\d+\.\d+\.\d+)\]`).FindSubmatch(b)
	if m == nil {
		t.Fatal("CHANGELOG.md lists no release")
	}
	if string(m[1]) != client.Version {
		t.Fatalf("CHANGELOG.md's newest release is %s, client.Version is %s", m[1], client.Version)
	}
	for _, v := range []string{"v0.1.0", "v10.2.33"} {
		if !isRelease(v) {
			t.Errorf("isRelease(%q) = false", v)
		}
	}
	for _, v := range []string{"(devel)", "v0.1.0-rc.1", "v0.1.1-0.2026-abc", "v1.2", "1.2.3", "v1.2.x", "v1..2"} {
		if isRelease(v) {
			t.Errorf("isRelease(%q) = true", v)
		}
	}
}
