package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/interop-data/interop/pkg/client"
)

func init() {
	commands["version"] = command{summary: "print the release, module version and VCS revision of this binary", run: runVersion}
}

func runVersion(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("version", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, "usage: interop version") }
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	bi, _ := debug.ReadBuildInfo()
	_, err := io.WriteString(stdout, versionText(bi))
	return err
}

// versionText says what a binary is: the release it belongs to (the
// client.Version that its client sends in User-Agent), the module version
// the go command stamped (v0.1.0 for `go install ...@v0.1.0`, a
// pseudo-version or "(devel)" for a build from a checkout), and the VCS
// revision it was built from, when the build recorded one.
func versionText(bi *debug.BuildInfo) string {
	var b strings.Builder
	fmt.Fprintf(&b, "interop %s\n", client.Version)
	module, version := "github.com/interop-data/interop", "unknown (no build information)"
	goVersion := runtime.Version()
	var rev, when string
	var modified bool
	if bi != nil {
		if bi.Main.Path != "" {
			module = bi.Main.Path
		}
		version = bi.Main.Version
		if version == "" {
			version = "(devel)"
		}
		if bi.GoVersion != "" {
			goVersion = bi.GoVersion
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.time":
				when = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
	}
	fmt.Fprintf(&b, "module:   %s %s\n", module, version)
	if rev == "" {
		b.WriteString("revision: unknown (built without VCS information, e.g. by go run or go test)\n")
	} else {
		notes := []string{}
		if when != "" {
			notes = append(notes, when)
		}
		if modified {
			notes = append(notes, "with uncommitted changes")
		}
		if len(notes) > 0 {
			rev += " (" + strings.Join(notes, ", ") + ")"
		}
		fmt.Fprintf(&b, "revision: %s\n", rev)
	}
	if tagged := strings.TrimPrefix(version, "v"); isRelease(version) && tagged != client.Version {
		fmt.Fprintf(&b, "warning:  the module version %s is not the release %s the code names (client.Version)\n", version, client.Version)
	}
	fmt.Fprintf(&b, "go:       %s %s/%s\n", goVersion, runtime.GOOS, runtime.GOARCH)
	return b.String()
}

// isRelease reports whether v is a plain release version vX.Y.Z (not a
// pseudo-version, a pre-release or "(devel)").
func isRelease(v string) bool {
	if !strings.HasPrefix(v, "v") || strings.ContainsAny(v, "-+") {
		return false
	}
	parts := strings.Split(v[1:], ".")
	if len(parts) != 3 {
		return false
	}
	for _, p := range parts {
		if p == "" || strings.Trim(p, "0123456789") != "" {
			return false
		}
	}
	return true
}
