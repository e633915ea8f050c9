package server_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/interop-data/interop/gen/apiserver"
	"github.com/interop-data/interop/pkg/server"
)

// bytesPerRun is testing.AllocsPerRun for bytes: the average heap bytes one
// call of f allocates, measured on one P so nothing else runs meanwhile.
func bytesPerRun(runs int, f func()) uint64 {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	f() // warm up
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range runs {
		f()
	}
	runtime.ReadMemStats(&after)
	return (after.TotalAlloc - before.TotalAlloc) / uint64(runs)
}

func nested(open, close string, n int) string {
	return strings.Repeat(open, n) + strings.Repeat(close, n)
}

// Issue 9, item 1: 50,000 nested '[' (100 KB) in an ack body drove the
// server to 3.7 GB; 150,000 got it killed. Now the depth is checked in one
// pass before anything else parses the body: 400 naming the limit, at a cost
// that does not grow with the depth.
func TestDeepJSONIs400WithBoundedCost(t *testing.T) {
	called := false
	e := newEnv(t, &fake{ackTask: func(context.Context, apiserver.AcknowledgeTaskRequestObject) (apiserver.AcknowledgeTaskResponseObject, error) {
		called = true
		return nil, nil
	}})
	url := base + "/tasks/" + uuid.NewString() + "/ack"
	for _, n := range []int{50_000, 150_000} {
		for _, body := range []string{nested("[", "]", n), nested(`{"a":`, "}", n), `{"status":"success","params":` + nested("[", "]", n) + "}"} {
			got := wantError(t, e.do("PUT", url, body), http.StatusBadRequest, server.CodeInvalidBody)
			if want := fmt.Sprintf("JSON nesting is deeper than the limit of %d levels", server.DefaultMaxJSONDepth); details(got) != want {
				t.Errorf("depth %d: details %q, want %q", n, details(got), want)
			}
		}
	}
	if called {
		t.Error("the handler ran on a too-deep body")
	}

	// The cost of refusing: allocations and bytes bounded by a small multiple
	// of the body (read once), the same at 150,000 levels as at 50,000. The
	// quadratic walk allocated gigabytes here.
	for _, n := range []int{50_000, 150_000} {
		body := nested("[", "]", n)
		do := func() { e.do("PUT", url, body) }
		allocs, b := testing.AllocsPerRun(5, do), bytesPerRun(5, do)
		t.Logf("depth %d (%d bytes): %.0f allocations, %d bytes allocated per request", n, len(body), allocs, b)
		if allocs > 400 {
			t.Errorf("depth %d: %.0f allocations per request, want at most 400", n, allocs)
		}
		if b > uint64(8*len(body))+256<<10 {
			t.Errorf("depth %d: %d bytes allocated per request for a %d-byte body, want at most 8x the body + 256 KiB", n, b, len(body))
		}
	}
}

// The limit is the documented number: 64 levels pass the depth check (and
// reach the validator), 65 do not; WithMaxJSONDepth moves it.
func TestMaxJSONDepthBoundary(t *testing.T) {
	ack := func(depth int) string { // params holds depth-2 levels of arrays: total depth = depth
		return `{"status":"success","message":"[[[[{{","params":{"a":` + nested("[", "]", depth-2) + `}}`
	}
	url := base + "/tasks/" + uuid.NewString() + "/ack"
	e := newEnv(t, &fake{})
	if got := wantError(t, e.do("PUT", url, ack(64)), 400, server.CodeInvalidBody); strings.Contains(details(got), "nesting") {
		t.Errorf("64 levels refused for depth: %s", details(got))
	}
	if got := wantError(t, e.do("PUT", url, ack(65)), 400, server.CodeInvalidBody); !strings.Contains(details(got), "limit of 64 levels") {
		t.Errorf("65 levels: %s", details(got))
	}
	e = newEnv(t, &fake{}, server.WithMaxJSONDepth(8))
	if got := wantError(t, e.do("PUT", url, ack(9)), 400, server.CodeInvalidBody); !strings.Contains(details(got), "limit of 8 levels") {
		t.Errorf("WithMaxJSONDepth(8), 9 levels: %s", details(got))
	}
	// With request validation off the depth is still checked: the binder
	// never sees a deep body either.
	e = newEnv(t, &fake{}, server.WithRequestValidation(false), server.WithResponseValidation(server.ValidationOff))
	wantError(t, e.do("PUT", url, nested("[", "]", 100_000)), 400, server.CodeInvalidBody)
}

// The same pass bounds the element count: megabytes of tiny object members
// (10 MiB was 815,000 map entries for the validator and the binder to build,
// 19 s and 130 MB, before the limit) are refused at the 50,001st element.
func TestMaxJSONElements(t *testing.T) {
	members := func(n int) string {
		var b strings.Builder
		b.WriteString(`{"status":"error","params":{`)
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `"k%d":""`, i)
		}
		b.WriteString("}}")
		return b.String()
	}
	url := base + "/tasks/" + uuid.NewString() + "/ack"
	e := newEnv(t, &fake{})
	// 5 elements before params' members: the ack object, "status", "error", "params" and its object.
	under := (server.DefaultMaxJSONElements - 5) / 2
	if got := wantError(t, e.do("PUT", url, members(under)), 501, server.CodeNotImplemented); strings.Contains(details(got), "elements") {
		t.Fatalf("%d members refused: %s", under, details(got))
	}
	got := wantError(t, e.do("PUT", url, members(under+1)), 400, server.CodeInvalidBody)
	if want := fmt.Sprintf("JSON holds more than the limit of %d elements (values and keys)", server.DefaultMaxJSONElements); details(got) != want {
		t.Errorf("details %q, want %q", details(got), want)
	}
	e = newEnv(t, &fake{}, server.WithMaxJSONElements(10))
	wantError(t, e.do("PUT", url, `{"status":"error","params":{"a":"1","b":"2","c":"3"}}`), 400, server.CodeInvalidBody)
	big := members(800_000)
	do := func() { e.do("PUT", url, big) }
	if b := bytesPerRun(2, do); b > uint64(8*len(big)) { // reading the body, not 800,000 map entries (hundreds of MB)
		t.Errorf("refusing %d bytes of members allocated %d bytes", len(big), b)
	}
}

// Error texts are cut: a repeated key of 100 KB is not sent back whole.
func TestErrorDetailsAreBounded(t *testing.T) {
	e := newEnv(t, &fake{})
	key := strings.Repeat("k", 100_000)
	rec := e.do("PUT", base+"/tasks/"+uuid.NewString()+"/ack", `{"status":"success","params":{"`+key+`":"1","`+key+`":"2"}}`)
	got := wantError(t, rec, 400, server.CodeInvalidBody)
	// Cut by the kit's error body ("(truncated)") or, as the validator's pass
	// names the key since issue 23, by the JSON pointer's bound ("…").
	if d := details(got); len(d) > server.MaxErrorText || !strings.HasSuffix(d, "(truncated)") && !strings.Contains(d, "…") {
		t.Errorf("details of %d bytes: %.80s...", len(details(got)), details(got))
	}
	if rec.Body.Len() > 4*server.MaxErrorText {
		t.Errorf("error body of %d bytes", rec.Body.Len())
	}
}

// URLs over the limit get 414 in the JSON error model, before any query
// parsing.
func TestLongURLIs414(t *testing.T) {
	e := newEnv(t, &fake{}, server.WithMaxURLLength(100))
	wantError(t, e.do("GET", base+"/rostering/persons?driver="+strings.Repeat("x", 100), ""), http.StatusRequestURITooLong, server.CodeURITooLong)
	e = newEnv(t, &fake{})
	wantError(t, e.do("GET", base+"/rostering/persons?x="+strings.Repeat("x", server.DefaultMaxURLLength), ""), http.StatusRequestURITooLong, server.CodeURITooLong)
}

// slowBody delivers part of a body and then fails as a connection whose
// read deadline (http.Server.ReadTimeout) passed does.
type slowBody struct{ sent bool }

func (b *slowBody) Read(p []byte) (int, error) {
	if !b.sent {
		b.sent = true
		return copy(p, `{"status":"succ`), nil
	}
	return 0, timeoutError{}
}

func (b *slowBody) Close() error { return nil }

type timeoutError struct{}

func (timeoutError) Error() string   { return "i/o timeout" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }

// abandonedBody ends before its declared length, as a client that gave up
// mid-upload leaves it.
type abandonedBody struct{ sent bool }

func (b *abandonedBody) Read(p []byte) (int, error) {
	if !b.sent {
		b.sent = true
		return copy(p, `{"status":"succ`), nil
	}
	return 0, fmt.Errorf("read: %w", io.ErrUnexpectedEOF)
}

func (b *abandonedBody) Close() error { return nil }

// Issue 9, item 6: a slow or abandoned upload is the client's fault: 408 or
// 400, logged at INFO and counted under its 4xx code, never a 500 at ERROR.
func TestSlowOrAbandonedUploadIs4xx(t *testing.T) {
	for _, c := range []struct {
		body   func() io.ReadCloser
		status int
		code   string
	}{
		{func() io.ReadCloser { return &slowBody{} }, http.StatusRequestTimeout, server.CodeRequestTimeout},
		{func() io.ReadCloser { return &abandonedBody{} }, http.StatusBadRequest, server.CodeInvalidBody},
	} {
		e := newEnv(t, &fake{})
		rec := e.doBody("PUT", base+"/tasks/"+uuid.NewString()+"/ack", c.body(), 200)
		wantError(t, rec, c.status, c.code)
		logs := e.logs.String()
		if strings.Contains(logs, `"level":"ERROR"`) {
			t.Errorf("%d logged at ERROR:\n%s", c.status, logs)
		}
		if !strings.Contains(logs, fmt.Sprintf(`"status":%d`, c.status)) {
			t.Errorf("access log lacks status %d:\n%s", c.status, logs)
		}
		if m := metricsText(t, e); !strings.Contains(m, fmt.Sprintf(`interop_http_requests_total{code="%d",method="PUT",operation="acknowledgeTask"} 1`, c.status)) {
			t.Errorf("metrics lack the %d:\n%s", c.status, grepLines(m, "interop_http_requests_total"))
		}
	}
}

func grepLines(s, sub string) string {
	var out []string
	for l := range strings.Lines(s) {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "")
}

// Issue 9, item 9: /metrics can leave the API listener for one of its own,
// sit behind the operator's authentication, or go.
func TestMetricsExposure(t *testing.T) {
	if rec := newEnv(t, &fake{}, server.WithMetricsEndpoint(false)).do("GET", "/metrics", ""); rec.Code != http.StatusNotFound {
		t.Errorf("WithMetricsEndpoint(false): /metrics answered %d", rec.Code)
	}
	guard := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("X-Operator") != "yes" {
				http.Error(w, "no", http.StatusForbidden)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
	e := newEnv(t, &fake{}, server.WithMetricsMiddleware(guard))
	if rec := e.do("GET", "/metrics", ""); rec.Code != http.StatusForbidden {
		t.Errorf("guarded /metrics without the operator's header: %d", rec.Code)
	}
	if rec := e.do("GET", "/metrics", "", "X-Operator", "yes"); rec.Code != 200 || !strings.Contains(rec.Body.String(), "interop_http_requests_total") {
		t.Errorf("guarded /metrics with the operator's header: %d", rec.Code)
	}

	// A listener of its own: not on the API address, served on its own.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	metricsAddr := ln.Addr().String()
	ln.Close()
	e = newEnv(t, &fake{}, server.WithMetricsAddr(metricsAddr))
	ctx, cancel := context.WithCancel(context.Background())
	apiAddr := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- e.srv.ListenAndServe(ctx, "127.0.0.1:0", func(a net.Addr) { apiAddr <- a.String() }) }()
	api := <-apiAddr
	get := func(url string) int {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatalf("GET %s: %v", url, err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := get("http://" + api + "/metrics"); code != http.StatusNotFound {
		t.Errorf("API listener still serves /metrics: %d", code)
	}
	if code := get("http://" + metricsAddr + "/metrics"); code != 200 {
		t.Errorf("metrics listener: %d", code)
	}
	if code := get("http://" + api + "/healthz"); code != 200 {
		t.Errorf("API listener /healthz: %d", code)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("ListenAndServe: %v", err)
	}
}

// The README lists the answers Go's HTTP server gives before the kit sees a
// request (text/plain, no hook to render them). This holds it to that list,
// and checks that what reaches the kit answers in JSON.
func TestAnswersBeforeTheKit(t *testing.T) {
	e := newEnv(t, &fake{})
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- e.srv.ListenAndServe(ctx, "127.0.0.1:0", func(a net.Addr) { addrc <- a.String() }) }()
	addr := <-addrc
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	raw := func(req string) (int, string) {
		t.Helper()
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.WriteString(conn, req); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("%.60q: %v", req, err)
		}
		defer resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("Content-Type")
	}
	long := func(n int) string { return "/healthz?x=" + strings.Repeat("a", n) }
	for _, c := range []struct {
		name, req string
		status    int
		json      bool
	}{
		{"NUL in a header", "GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n", 400, false},
		{"bad Content-Length", "PUT /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n", 400, false},
		{"conflicting Content-Length", "PUT /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", 400, false},
		{"no Host", "GET /healthz HTTP/1.1\r\n\r\n", 400, false},
		{"unsupported Transfer-Encoding", "PUT /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501, false},
		{"unknown Expect", "GET /healthz HTTP/1.1\r\nHost: x\r\nExpect: later\r\n\r\n", 417, false},
		{"HTTP/3.0 request line", "GET /healthz HTTP/3.0\r\nHost: x\r\n\r\n", 505, false},
		{"URL over the header limit", "GET " + long(server.DefaultMaxHeaderBytes+4096) + " HTTP/1.1\r\nHost: x\r\n\r\n", 431, false},
		// What reaches the kit answers in JSON.
		{"URL over the kit's limit", "GET " + long(server.DefaultMaxURLLength+1) + " HTTP/1.1\r\nHost: x\r\n\r\n", 414, true},
		{"unknown path", "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n", 404, true},
	} {
		status, ctype := raw(c.req)
		if status != c.status || strings.HasPrefix(ctype, "application/json") != c.json {
			t.Errorf("%s: %d %q, want %d (JSON: %v)", c.name, status, ctype, c.status, c.json)
		}
	}
}

// serve runs e's server on a loopback port until the test ends and returns
// its address.
func serve(t *testing.T, e *env) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- e.srv.ListenAndServe(ctx, "127.0.0.1:0", func(a net.Addr) { addrc <- a.String() }) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return <-addrc
}

// getOn sends GET path on conn and reads the answer, keeping conn open.
func getOn(conn net.Conn, path string) (int, error) {
	if _, err := io.WriteString(conn, "GET "+path+" HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		return 0, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// WithMaxConnections holds at most n connections open: with one, a second
// client is not served while the first connection is busy with a request,
// and is as soon as it is not.
func TestMaxConnections(t *testing.T) {
	t.Parallel()
	e := newEnv(t, &fake{}, server.WithMaxConnections(1))
	release, entered := make(chan struct{}), make(chan struct{})
	e.srv.Echo().GET("/busy", func(c echo.Context) error {
		close(entered)
		<-release
		return c.NoContent(http.StatusNoContent)
	})
	addr := serve(t, e)
	first, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	busy := make(chan error, 1)
	go func() {
		code, err := getOn(first, "/busy")
		if err == nil && code != http.StatusNoContent {
			err = fmt.Errorf("status %d", code)
		}
		busy <- err
	}()
	<-entered
	second, err := net.Dial("tcp", addr) // the kernel accepts it; the server does not take it yet
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	answered := make(chan error, 1)
	go func() {
		code, err := getOn(second, "/healthz")
		if err == nil && code != 200 {
			err = fmt.Errorf("status %d", code)
		}
		answered <- err
	}()
	select {
	case err := <-answered:
		t.Fatalf("the second connection was served while the first was busy (%v)", err)
	case <-time.After(300 * time.Millisecond):
	}
	close(release)
	if err := <-busy; err != nil {
		t.Fatalf("first connection: %v", err)
	}
	select {
	case err := <-answered:
		if err != nil {
			t.Fatalf("second connection after the first finished: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the second connection was never served")
	}
}

// Issue 20, item 1: connections that made one request and stay idle used to
// hold every slot until their idle timeout (120 s), so a newcomer waited
// that long. At the limit, the server now closes the connection idle
// longest for the newcomer. The client's deadline is a generous bound, not
// a measurement: the old code failed it by minutes.
func TestMaxConnectionsShedsIdleKeepAlives(t *testing.T) {
	t.Parallel()
	const limit = 3
	e := newEnv(t, &fake{}, server.WithMaxConnections(limit))
	addr := serve(t, e)
	var idle []net.Conn
	for i := range limit {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if code, err := getOn(c, "/healthz"); err != nil || code != 200 {
			t.Fatalf("idle connection %d: %d %v", i, code, err)
		}
		idle = append(idle, c)
	}
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for i := range 2 * limit {
		resp, err := hc.Get("http://" + addr + "/healthz")
		if err != nil {
			t.Fatalf("request %d with the limit full of idle keep-alives: %v", i, err)
		}
		resp.Body.Close()
	}
	// An idle connection was closed for the newcomers. Which one is the
	// one idle longest as the server saw it (TestVictimIsIdleLongest): on a
	// loaded machine the server may mark the first connection idle after
	// the client has already read its answer and dialled the next, so the
	// test does not insist on idle[0].
	closed := 0
	for _, c := range idle {
		_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
		if _, err := c.Read(make([]byte, 1)); err == io.EOF {
			closed++
		}
	}
	if closed == 0 {
		t.Error("no idle keep-alive was closed for the newcomers")
	}
	if m := metricsText(t, e); !strings.Contains(m, "interop_connections_shed_total ") || strings.Contains(m, "interop_connections_shed_total 0") {
		t.Errorf("sheds not counted:\n%s", grepLines(m, "interop_connections_shed"))
	}
}

// A connection that has sent nothing for a second is given up for a
// newcomer too, long before the header timeout (a minute here) ends it.
func TestMaxConnectionsShedsSilentConnections(t *testing.T) {
	t.Parallel()
	const limit = 2
	e := newEnv(t, &fake{}, server.WithMaxConnections(limit), server.WithTimeouts(server.Timeouts{ReadHeader: time.Minute}))
	addr := serve(t, e)
	for range limit {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		// Part of a request line, then nothing.
		if _, err := io.WriteString(c, "GET /hea"); err != nil {
			t.Fatal(err)
		}
	}
	hc := &http.Client{Timeout: 15 * time.Second}
	resp, err := hc.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatalf("with the limit full of silent connections: %v", err)
	}
	resp.Body.Close()
}

// seriesOf counts the series of the kit's HTTP metrics in a scrape.
func seriesOf(t *testing.T, e *env) int {
	t.Helper()
	rec := e.do("GET", "/metrics", "")
	if rec.Code != 200 {
		t.Fatalf("/metrics: %d", rec.Code)
	}
	n := 0
	for l := range strings.Lines(rec.Body.String()) {
		if strings.HasPrefix(l, "interop_http_") {
			n++
		}
	}
	return n
}

// Issue 20, item 2: every label a client influences comes from a closed
// set, so made-up methods and paths add no series (20,000 of them used to
// add 360,000).
func TestMetricsLabelsAreAClosedSet(t *testing.T) {
	t.Parallel()
	e := newEnv(t, okPersons())
	send := func(i int) {
		for _, path := range []string{"/healthz", "/nope/" + strconv.Itoa(i), base + "/persons", "/oauth/token"} {
			e.do("M"+strconv.Itoa(i), path, "")
		}
	}
	send(0)
	seriesOf(t, e) // the scrape's own series, from here on counted
	before := seriesOf(t, e)
	for i := 1; i <= 200; i++ {
		send(i)
	}
	if after := seriesOf(t, e); after != before {
		t.Errorf("200 invented methods grew the series from %d to %d", before, after)
	}
	rec := e.do("GET", "/metrics", "")
	if !strings.Contains(rec.Body.String(), `method="other"`) {
		t.Errorf("no method=\"other\" series:\n%s", grepLines(rec.Body.String(), "interop_http_requests_total"))
	}
	if strings.Contains(rec.Body.String(), `method="M1"`) {
		t.Error("an invented method is a label value")
	}
}
