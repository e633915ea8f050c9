package readme_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/interop-data/interop/internal/syncbuf"
	"github.com/interop-data/interop/pkg/conformance"
)

// root is the repository, where a newcomer runs the README's commands.
const root = "../.."

// block returns the one fenced block of lang in the README section whose
// heading starts with section.
func block(t *testing.T, section, lang string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	i := strings.Index(text, "\n## "+section)
	if i < 0 {
		t.Fatalf("README.md has no section %q", section)
	}
	body := text[i+4:]
	if j := strings.Index(body, "\n## "); j >= 0 {
		body = body[:j]
	}
	m := regexp.MustCompile("(?s)\n```"+lang+"\n(.*?)\n```\n").FindAllStringSubmatch(body, -1)
	if len(m) != 1 {
		t.Fatalf("README section %q has %d %s blocks, want 1", section, len(m), lang)
	}
	return m[0][1]
}

// replace replaces old in s, failing when it is not there: a README that no
// longer says what the test expects must fail, not pass unchecked.
func replace(t *testing.T, s, old, new string) string {
	t.Helper()
	if !strings.Contains(s, old) {
		t.Fatalf("the README block no longer contains %q:\n%s", old, s)
	}
	return strings.ReplaceAll(s, old, new)
}

// tool returns the path of a command the README uses; it skips the test
// when it is missing, except in CI.
func tool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true but %s is not installed", name)
		}
		t.Skipf("%s is not installed", name)
	}
	return p
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// buildSnippet builds a README Go block as a program of this module (it
// imports the module's packages), through an overlay: no file is written
// into the repository.
func buildSnippet(t *testing.T, name, src string) string {
	t.Helper()
	tmp := t.TempDir()
	abs, err := filepath.Abs(root)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(tmp, "main.go")
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	virtual := filepath.Join(abs, "internal", "readme", "snippet-"+name, "main.go")
	overlay, _ := json.Marshal(map[string]any{"Replace": map[string]string{virtual: file}})
	ovFile := filepath.Join(tmp, "overlay.json")
	if err := os.WriteFile(ovFile, overlay, 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(tmp, name)
	cmd := exec.Command("go", "build", "-overlay", ovFile, "-o", bin, "./internal/readme/snippet-"+name)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the README's %s snippet does not build: %v\n%s\n%s", name, err, out, src)
	}
	return bin
}

// waitFor polls until f reports true or the time is up.
func waitFor(t *testing.T, d time.Duration, what string, f func() bool) {
	t.Helper()
	for deadline := time.Now().Add(d); !f(); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("gave up after %s waiting for %s", d, what)
		}
	}
}

func healthy(base string) bool {
	resp, err := http.Get(base + "/healthz")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == 200
}

// stop sends sig to cmd and waits for it to end; it returns its exit code.
func stop(t *testing.T, cmd *exec.Cmd, sig os.Signal) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	if err := cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("%s did not end within 30s of %v", cmd.Path, sig)
	}
	return cmd.ProcessState.ExitCode()
}

// The compatible-server snippet builds, serves (its /docs too), passes the
// conformance suite with every operation counted as not implemented, and
// exits 0 on Ctrl-C.
func TestCompatibleServerSnippet(t *testing.T) {
	src := replace(t, block(t, "Build a compatible server", "go"), `"127.0.0.1:8081"`, `"127.0.0.1:0"`)
	bin := buildSnippet(t, "server", src)
	var out, errOut syncbuf.Buffer
	cmd := exec.Command(bin)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	listening := regexp.MustCompile(`listening addr=(\S+)`)
	var base string
	waitFor(t, 30*time.Second, "the snippet's server to listen", func() bool {
		if m := listening.FindStringSubmatch(errOut.String()); m != nil {
			base = "http://" + m[1]
		}
		return base != ""
	})
	for _, p := range []string{"/healthz", "/docs", "/openapi.yaml"} {
		resp, err := http.Get(base + p)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("GET %s: %v %v", p, resp, err)
		}
		resp.Body.Close()
	}
	rep, err := conformance.Run(t.Context(), conformance.Config{BaseURL: base + "/v2/interop/data",
		Clients: []conformance.Credentials{{ClientID: "demo", ClientSecret: "demo-secret"}}})
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := rep.NotImplemented(); !rep.OK() || n == 0 {
		_, failed, _ := rep.Counts()
		t.Errorf("conformance of the snippet's server: %d failed, %d not implemented; want 0 failed", failed, n)
	}
	if code := stop(t, cmd, os.Interrupt); code != 0 || strings.Contains(errOut.String(), "<nil>") {
		t.Fatalf("Ctrl-C: exit status %d, want 0\n%s", code, errOut.String())
	}
}

// makeRun starts `make run` on a free port and a fresh database, as a
// newcomer does in another terminal, and waits until it answers.
func makeRun(t *testing.T) (base string, cmd *exec.Cmd, out *syncbuf.Buffer) {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: builds and runs bin/interop through make")
	}
	tool(t, "make")
	addr, tmp := freeAddr(t), t.TempDir()
	out = &syncbuf.Buffer{}
	cmd = exec.Command("make", "run", "ADDR="+addr, "DB="+filepath.Join(tmp, "interop.db"), "BIN="+filepath.Join(tmp, "interop"))
	cmd.Dir = root
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			_ = cmd.Wait()
		}
	})
	base = "http://" + addr
	waitFor(t, 3*time.Minute, "make run to serve", func() bool { return healthy(base) })
	return base, cmd, out
}

// The reference server's steps: make run, the curl lines (TOKEN set by the
// first), the client snippet against it; then stopping make stops the
// server.
func TestReferenceServerSteps(t *testing.T) {
	bash := tool(t, "bash")
	tool(t, "curl")
	base, mk, mkOut := makeRun(t)
	addr := strings.TrimPrefix(base, "http://")

	script := replace(t, block(t, "The reference server", "sh"), "127.0.0.1:8080", addr)
	out, err := exec.Command(bash, "-euo", "pipefail", "-c", script).CombinedOutput()
	if err != nil {
		t.Fatalf("the README's curl lines: %v\n%s", err, out)
	}
	var schools struct {
		Data []json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(out, &schools); err != nil || len(schools.Data) == 0 {
		t.Fatalf("the README's curl lines printed %q (%v), want the demo schools", out, err)
	}

	src := replace(t, block(t, "Read every roster and run a task worker", "go"), "127.0.0.1:8080", addr)
	bin := buildSnippet(t, "client", src)
	var cOut, cErr syncbuf.Buffer
	client := exec.Command(bin)
	client.Stdout, client.Stderr = &cOut, &cErr
	if err := client.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Process.Kill() })
	waitFor(t, time.Minute, "the client snippet to print students and handle a task", func() bool {
		return strings.Count(cOut.String(), "\n") > 10 && strings.Contains(cOut.String(), "task: ")
	})
	if code := stop(t, client, os.Interrupt); code != 0 {
		t.Fatalf("the client snippet on Ctrl-C: exit status %d\n%s", code, cErr.String())
	}

	stop(t, mk, syscall.SIGTERM)
	if healthy(base) {
		t.Fatalf("the server still answers after make was stopped:\n%s", mkOut.String())
	}
	if !strings.Contains(mkOut.String(), "shut down") {
		t.Errorf("the server did not shut down gracefully:\n%s", mkOut.String())
	}
}

// recipe is the README's conformance recipe made to run on addr with a
// scratch database and binary in tmp. Every path it names is replaced: the
// test must pass whatever make run, the examples and earlier recipes left in
// the working tree, so the script may not read it.
func recipe(t *testing.T, addr, tmp string) string {
	t.Helper()
	script := block(t, "Check any server: conformance", "sh")
	db, bin := filepath.Join(tmp, "interop.db"), filepath.Join(tmp, "interop")
	script = replace(t, script, "ADDR=127.0.0.1:8080 DB=./interop.db BIN=bin/interop", "ADDR="+addr+" DB="+db+" BIN="+bin)
	if rest := strings.NewReplacer(db, "", bin, "").Replace(script); strings.Contains(rest, "interop.db") || strings.Contains(rest, "bin/") || strings.Contains(rest, ".json") {
		t.Fatalf("the recipe names a file in the working tree besides its DB and BIN variables:\n%s", script)
	}
	return script
}

// runRecipe runs script with bash from the repository's root, as a newcomer
// pastes it, and returns its output and exit status. It fails the test when
// the run leaves a file in the working tree that was not there before.
func runRecipe(t *testing.T, script string) (string, int) {
	t.Helper()
	bash := tool(t, "bash")
	before := untracked(t)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bash, "-c", script)
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("the README's conformance recipe did not run: %v\n%s", err, out)
	}
	for f := range untracked(t) {
		if !before[f] {
			t.Errorf("the recipe left %s in the working tree", f)
		}
	}
	return string(out), cmd.ProcessState.ExitCode()
}

// untracked lists the files git does not track, ignored ones included, at
// the root of the working tree and in bin/, where the recipe runs and builds:
// tests of other packages, running at the same time, write in their own
// folders.
func untracked(t *testing.T) map[string]bool {
	t.Helper()
	cmd := exec.Command("git", "status", "--porcelain", "--ignored", "--untracked-files=all")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Skipf("not a git working tree: %v", err)
	}
	files := map[string]bool{}
	for _, l := range strings.Split(string(out), "\n") {
		if f, ok := strings.CutPrefix(l, "?? "); ok && (!strings.Contains(f, "/") || strings.HasPrefix(f, "bin/")) {
			files[f] = true
		}
		if f, ok := strings.CutPrefix(l, "!! "); ok && (!strings.Contains(f, "/") || strings.HasPrefix(f, "bin/")) {
			files[f] = true
		}
	}
	return files
}

func recipeTools(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: builds bin/interop and runs the whole suite against the demo district")
	}
	tool(t, "curl")
	tool(t, "make")
}

// The conformance recipe, run as written (on a free port and a scratch
// database): it passes, exits 0, writes nothing into the working tree, and
// stops its server.
func TestConformanceRecipe(t *testing.T) {
	recipeTools(t)
	addr := freeAddr(t)
	out, code := runRecipe(t, recipe(t, addr, t.TempDir()))
	if code != 0 {
		t.Fatalf("the README's conformance recipe: exit status %d\n%s", code, out)
	}
	if !regexp.MustCompile(`\d+ passed, 0 failed, 1 skipped`).MatchString(out) { // redelivery: no --lease-wait
		t.Errorf("the recipe's report:\n%s", out)
	}
	if healthy("http://" + addr) {
		t.Errorf("the server still answers after the recipe ended")
	}
}

// The recipe's exit status is conformance's: a failed run is not hidden
// behind the status of the command that stops the server.
func TestConformanceRecipeFails(t *testing.T) {
	recipeTools(t)
	t.Parallel()
	addr := freeAddr(t)
	script := replace(t, recipe(t, addr, t.TempDir()), "--client-secret demo-secret", "--client-secret wrong-secret")
	out, code := runRecipe(t, script)
	if code != 1 || !strings.Contains(out, "demo") {
		t.Fatalf("the recipe with a wrong secret: exit status %d, want conformance's 1\n%s", code, out)
	}
	if healthy("http://" + addr) {
		t.Errorf("the server still answers after the recipe ended")
	}
}

// With a server already on the port (make run still up), the recipe stops
// at once, saying so, instead of testing, and resetting, that server.
func TestConformanceRecipeBusyPort(t *testing.T) {
	recipeTools(t)
	t.Parallel()
	for name, serve := range map[string]func(net.Listener){
		"a server": func(ln net.Listener) {
			_ = http.Serve(ln, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
		},
		"not HTTP": func(ln net.Listener) {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				c.Close()
			}
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			go serve(ln)
			out, code := runRecipe(t, recipe(t, ln.Addr().String(), t.TempDir()))
			if code == 0 || strings.Contains(out, "passed,") {
				t.Fatalf("the recipe on a busy port: exit status %d, want a failure before conformance\n%s", code, out)
			}
			if !strings.Contains(out, ln.Addr().String()) {
				t.Errorf("the recipe's failure does not name the busy address:\n%s", out)
			}
		})
	}
}
