package main

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite" // the floor's own connection

	"github.com/interop-data/interop/internal/syncbuf"
	"github.com/interop-data/interop/pkg/reference"
)

// The page benchmark's child processes: the test binary, run again.
const (
	// floorEnv makes the test binary serve the floor (pageFloor) instead of
	// running the tests; floorDBEnv, floorTenantEnv and floorTailEnv say
	// what it reads and writes.
	floorEnv       = "INTEROP_TEST_PAGE_FLOOR"
	floorDBEnv     = "INTEROP_TEST_PAGE_FLOOR_DB"
	floorTenantEnv = "INTEROP_TEST_PAGE_FLOOR_TENANT"
	floorHeadEnv   = "INTEROP_TEST_PAGE_FLOOR_HEAD"
	floorTailEnv   = "INTEROP_TEST_PAGE_FLOOR_TAIL"
	// cpuProfileEnv makes a child started with runMainEnv write a CPU
	// profile of itself to this file (it stops on SIGINT, like serve).
	cpuProfileEnv = "INTEROP_TEST_CPUPROFILE"
)

// pageSize is the benchmark's page: GET /rostering/persons?page_size=100.
const pageSize = 100

// pageBlock is how many pages BenchmarkPageCPU fetches from one target
// before it moves to the next.
const pageBlock = 100

// floorQuery is the query the SQLite store's ListObjects runs for one page
// of persons of one tenant (no subtype, no org, no cursor).
const floorQuery = `SELECT seq, id, subtype, label, data FROM objects WHERE tenant_id IN (?) AND kind = ? ORDER BY seq LIMIT ? OFFSET ?`

// BenchmarkPageCPU measures the server CPU one page of 100 persons costs,
// GET /rostering/persons?page_size=100 over HTTP with a bearer token,
// against `interop serve` on SQLite (the demo district, 520 persons), with
// response validation off and enforce; and, in the same run, its floor: a
// process that only runs the same query on the same file (prepared once)
// and writes the same bytes (the same body and as many header bytes) to
// the socket, reading the request as little as it can. Every target is a
// process of its own; its CPU (user and system, every thread, the garbage
// collector's included) is read from /proc before and after the loop, so
// the benchmark client's own work is not counted.
//
// One iteration fetches the page once from every target: in blocks of
// pageBlock pages per target in turn, so that all of them run under the
// same load on a shared machine, and each stays busy through its block as
// a loaded server does (page by page in turn, every process would pay for
// waking up from idle on each request: about 250 µs more per page, floor
// included, on the 2-core machine of docs/PERFORMANCE.md). It reports each
// target's CPU per page (floor-cpu-ns/page, off-cpu-ns/page,
// enforce-cpu-ns/page) and each server's over the floor's (off/floor,
// enforce/floor). With INTEROP_TEST_PAGE_BASELINE naming another build of
// this test binary (`make bench-page BASE=main` builds one), or several as
// name=path,name=path, their servers are measured beside them on the same
// file (base-off-…, base-enforce-…): before and after in one run.
//
// Run with a fixed count that gives /proc's 10 ms ticks room, e.g.
// -benchtime 3000x. With INTEROP_TEST_CPUPROFILE_DIR set, the floor and
// each server of this build write a CPU profile there (floor.pprof,
// serve-off.pprof, serve-enforce.pprof).
func BenchmarkPageCPU(b *testing.B) {
	if testing.Short() {
		b.Skip("the page benchmark starts server processes; skipped in short mode")
	}
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		b.Skip("needs /proc to read the servers' CPU time")
	}
	db := filepath.Join(b.TempDir(), "page.db")
	// The first server creates the demo district; the others find it.
	off := startPageServer(b, os.Args[0], db, "off", true)
	targets := []*pageTarget{{name: "off", child: off}, {name: "enforce", child: startPageServer(b, os.Args[0], db, "enforce", true)}}
	for _, base := range baselines() {
		targets = append(targets,
			&pageTarget{name: base.name + "-off", child: startPageServer(b, base.bin, db, "off", false)},
			&pageTarget{name: base.name + "-enforce", child: startPageServer(b, base.bin, db, "enforce", false)})
	}
	token := pageToken(b, off.root)
	path := "/v2/interop/data/rostering/persons?page_size=" + strconv.Itoa(pageSize)
	head, tail := pageShape(b, off.root+path, token)
	floor := &pageTarget{name: "floor", child: startFloor(b, db, head, tail), url: "/"}
	targets = append([]*pageTarget{floor}, targets...)
	for _, t := range targets {
		if t.url == "" {
			t.url, t.token = path, token
		}
		t.url = t.child.root + t.url
		t.hc = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1, DisableCompression: true}}
		defer t.hc.CloseIdleConnections()
		for range 50 { // warm up: connection, caches, the store's statements
			t.get(b)
		}
		t.cpu = procCPU(b, t.child.cmd.Process.Pid)
	}
	b.ResetTimer()
	for done := 0; done < b.N; done += pageBlock {
		for _, t := range targets {
			for range min(pageBlock, b.N-done) {
				t.get(b)
			}
		}
	}
	b.StopTimer()
	ns := map[string]float64{}
	for _, t := range targets {
		ns[t.name] = float64(procCPU(b, t.child.cmd.Process.Pid)-t.cpu) / float64(b.N)
		b.ReportMetric(ns[t.name], t.name+"-cpu-ns/page")
	}
	for _, t := range targets[1:] {
		if ns["floor"] > 0 {
			b.ReportMetric(ns[t.name]/ns["floor"], t.name+"/floor")
		}
	}
}

// baselines are the other builds INTEROP_TEST_PAGE_BASELINE names: a test
// binary's path (named "base"), or name=path pairs separated by commas.
func baselines() []struct{ name, bin string } {
	var out []struct{ name, bin string }
	for i, f := range strings.Split(os.Getenv("INTEROP_TEST_PAGE_BASELINE"), ",") {
		if f == "" {
			continue
		}
		name, bin, ok := strings.Cut(f, "=")
		if !ok {
			name, bin = "base", f
			if i > 0 {
				name += strconv.Itoa(i)
			}
		}
		out = append(out, struct{ name, bin string }{name, bin})
	}
	return out
}

// pageTarget is one process serving the page.
type pageTarget struct {
	name       string
	child      *pageChild
	url, token string
	hc         *http.Client
	cpu        time.Duration // at the start of the loop
}

// get fetches the page once on the target's keep-alive connection.
func (t *pageTarget) get(b *testing.B) {
	req, _ := http.NewRequest(http.MethodGet, t.url, nil)
	if t.token != "" {
		req.Header.Set("Authorization", "Bearer "+t.token)
	}
	resp, err := t.hc.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	n, _ := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || n < 1000 {
		b.Fatalf("%s: GET %s = %d, %d bytes", t.name, t.url, resp.StatusCode, n)
	}
}

// procCPU is the CPU time (user and system, all threads) of process pid.
func procCPU(b *testing.B, pid int) time.Duration {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	// The command name, in parentheses, may hold spaces: fields count
	// from after its closing parenthesis (field 3 is the state).
	f := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+1:]))
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		b.Fatalf("/proc/%d/stat: %q", pid, raw)
	}
	const ticksPerSecond = 100 // USER_HZ on Linux
	return time.Duration(utime+stime) * time.Second / ticksPerSecond
}

// pageChild is one child process serving pages.
type pageChild struct {
	root string
	cmd  *exec.Cmd
	log  *syncbuf.Buffer
}

// startPageServer runs `interop serve --demo` of the test binary bin on db
// with the given response validation, and waits until it listens.
func startPageServer(b *testing.B, bin, db, validation string, profile bool) *pageChild {
	env := []string{runMainEnv + "=1"}
	if dir := os.Getenv("INTEROP_TEST_CPUPROFILE_DIR"); dir != "" && profile {
		env = append(env, cpuProfileEnv+"="+filepath.Join(dir, "serve-"+validation+".pprof"))
	}
	return startChild(b, bin, env, "token URL: ", "serve", "--addr", "127.0.0.1:0", "--db", db, "--demo", "--response-validation", validation, "--metrics-addr", "off")
}

// startFloor runs the floor process over db.
func startFloor(b *testing.B, db, head, tail string) *pageChild {
	env := []string{floorEnv + "=1", floorDBEnv + "=" + db, floorTenantEnv + "=" + reference.DemoTenantID.String(), floorHeadEnv + "=" + head, floorTailEnv + "=" + tail}
	if dir := os.Getenv("INTEROP_TEST_CPUPROFILE_DIR"); dir != "" {
		env = append(env, cpuProfileEnv+"="+filepath.Join(dir, "floor.pprof"))
	}
	return startChild(b, os.Args[0], env, "floor: ")
}

// startChild runs the test binary bin with env and args and waits for the
// line starting with ready, which names the root URL (ending in the path it
// drops: "/oauth/token" for serve).
func startChild(b *testing.B, bin string, env []string, ready string, args ...string) *pageChild {
	c := &pageChild{log: &syncbuf.Buffer{}}
	c.cmd = exec.Command(bin, args...)
	c.cmd.Env = append(os.Environ(), env...)
	c.cmd.Stderr = c.log
	out, err := c.cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := c.cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		// SIGINT, not SIGKILL: a profiling child writes its profile.
		_ = c.cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = c.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = c.cmd.Process.Kill()
			<-done
		}
	})
	up := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), ready); ok {
				up <- strings.TrimSuffix(rest, "/oauth/token")
			}
		}
	}()
	select {
	case c.root = <-up:
	case <-time.After(60 * time.Second):
		b.Fatalf("%v did not start:\n%s", args, c.log.String())
	}
	return c
}

// pageToken gets the demo tenant's token from the server at root.
func pageToken(b *testing.B, root string) string {
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {reference.DemoClientID}, "client_secret": {reference.DemoClientSecret}}
	resp, err := http.PostForm(root+"/oauth/token", form)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || tok.AccessToken == "" {
		b.Fatalf("token: %d %v", resp.StatusCode, err)
	}
	return tok.AccessToken
}

// pageShape fetches the page once and returns what the floor writes
// besides the rows: the response's header block (as many bytes, the
// Content-Length left for the floor to fill in) and the body's end after
// the data array (the paging object).
func pageShape(b *testing.B, url, token string) (head, tail string) {
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		b.Fatalf("GET %s = %d %v", url, resp.StatusCode, err)
	}
	var page struct {
		Data []json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(body, &page); err != nil || len(page.Data) != pageSize {
		b.Fatalf("page: %d objects, %v", len(page.Data), err)
	}
	i := strings.LastIndex(string(body), `],"paging":`)
	if i < 0 {
		b.Fatalf("page body has no paging: %.200s", body)
	}
	var h strings.Builder
	h.WriteString("HTTP/1.1 200 OK\r\n")
	names := make([]string, 0, len(resp.Header))
	for k := range resp.Header {
		if k != "Content-Length" {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	for _, k := range names {
		for _, v := range resp.Header[k] {
			h.WriteString(k + ": " + v + "\r\n")
		}
	}
	return h.String(), string(body[i:])
}

// pageFloor serves the floor: for each request read off a connection (up
// to its blank line, nothing parsed), it runs floorQuery on a statement
// prepared once and writes a response of the header block, the rows' data
// in {"data":[…]} and the paging tail, from buffers it reuses. It is what
// any server of this page must at least do.
func pageFloor() int {
	if p := os.Getenv(cpuProfileEnv); p != "" {
		f, err := os.Create(p)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer pprof.StopCPUProfile()
	}
	db, err := sql.Open("sqlite", os.Getenv(floorDBEnv)+"?_pragma=query_only(1)&_pragma=busy_timeout(10000)")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	stmt, err := db.Prepare(floorQuery)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	tenant, head, tail := os.Getenv(floorTenantEnv), os.Getenv(floorHeadEnv), os.Getenv(floorTailEnv)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx, stop := signalContext()
	defer stop()
	go func() { <-ctx.Done(); ln.Close() }()
	fmt.Printf("floor: http://%s\n", ln.Addr())
	for {
		c, err := ln.Accept()
		if err != nil {
			return 0
		}
		go func() {
			defer c.Close()
			br := bufio.NewReader(c)
			var body, out []byte
			for {
				for { // the request's lines, up to the blank one
					line, err := br.ReadSlice('\n')
					if err != nil {
						return
					}
					if len(line) <= 2 {
						break
					}
				}
				body = append(body[:0], `{"data":[`...)
				rows, err := stmt.Query(tenant, "Person", pageSize+1, 0)
				if err != nil {
					fmt.Fprintln(os.Stderr, err)
					return
				}
				n := 0
				for rows.Next() {
					var seq int64
					var id, subtype, label, data sql.RawBytes
					if err := rows.Scan(&seq, &id, &subtype, &label, &data); err != nil {
						fmt.Fprintln(os.Stderr, err)
						return
					}
					if n++; n > pageSize {
						continue
					}
					if n > 1 {
						body = append(body, ',')
					}
					body = append(body, data...)
				}
				rows.Close()
				body = append(body, tail...)
				out = append(out[:0], head...)
				out = append(out, "Content-Length: "...)
				out = strconv.AppendInt(out, int64(len(body)), 10)
				out = append(out, "\r\n\r\n"...)
				out = append(out, body...)
				if _, err := c.Write(out); err != nil {
					return
				}
			}
		}()
	}
}

// runProfiled runs the interop command as main does, writing a CPU profile
// of it to path.
func runProfiled(path string) int {
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer f.Close()
	if err := pprof.StartCPUProfile(f); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer pprof.StopCPUProfile()
	ctx, stop := signalContext()
	defer stop()
	return run(ctx, os.Args[1:], os.Stdout, os.Stderr)
}

func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}
