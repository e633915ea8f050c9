package proxy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/interop-data/interop/pkg/drift"
)

// ReportPath is where the proxy serves its report; ReportPath+".json" and
// ReportPath+".html" choose the format whatever the Accept header.
const ReportPath = "/_interop/report"

// Proxy is the checking reverse proxy; it is an http.Handler.
type Proxy struct {
	rec      *drift.Recorder
	rp       *httputil.ReverseProxy
	maxBody  int64
	timeout  time.Duration
	xfwd     bool
	logger   *slog.Logger
	rt       http.RoundTripper
	checkers chan struct{}
	pending  sync.WaitGroup
}

// Option configures a Proxy.
type Option func(*Proxy)

// WithMaxBody bounds the bytes of each body kept for checking
// (drift.DefaultMaxBody by default).
func WithMaxBody(n int64) Option { return func(p *Proxy) { p.maxBody = n } }

// WithTimeout bounds how long the upstream may take to start answering
// before the caller gets a 504 (60s by default).
func WithTimeout(d time.Duration) Option { return func(p *Proxy) { p.timeout = d } }

// WithXForwarded adds X-Forwarded-For, -Host and -Proto to the forwarded
// requests, so that an upstream that honours them links its pages
// (paging.next) through the proxy. Off by default: requests go as they came.
func WithXForwarded() Option { return func(p *Proxy) { p.xfwd = true } }

// WithLogger sets the logger of upstream errors (default: discard).
func WithLogger(l *slog.Logger) Option { return func(p *Proxy) { p.logger = l } }

// WithTransport replaces the transport to the upstream (its
// ResponseHeaderTimeout is then the transport's business).
func WithTransport(rt http.RoundTripper) Option { return func(p *Proxy) { p.rt = rt } }

// WithCheckers sets how many exchanges may be checked at the same time (16
// by default). Checking runs after the answer went out; when every checker
// is busy an exchange is counted "not checked: busy" (its call and status
// still are) rather than delay traffic or hold its bodies.
func WithCheckers(n int) Option {
	return func(p *Proxy) {
		if n > 0 {
			p.checkers = make(chan struct{}, n)
		}
	}
}

// New returns a proxy to upstream (its scheme, host and path prefix) that
// records into rec.
func New(upstream string, rec *drift.Recorder, opts ...Option) (*Proxy, error) {
	u, err := url.Parse(upstream)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("proxy: the upstream must be an absolute http(s) URL")
	}
	p := &Proxy{
		rec: rec, maxBody: drift.DefaultMaxBody, timeout: 60 * time.Second,
		logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
		checkers: make(chan struct{}, 16),
	}
	for _, o := range opts {
		o(p)
	}
	if p.rt == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.DisableCompression = true // pass Content-Encoding through as it came
		t.ResponseHeaderTimeout = p.timeout
		t.Proxy = nil
		p.rt = t
	}
	p.rp = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(u)
			if p.xfwd {
				pr.SetXForwarded()
			}
		},
		Transport:      p.rt,
		FlushInterval:  -1, // pass bytes on as they come
		ModifyResponse: p.modifyResponse,
		ErrorHandler:   p.upstreamError,
	}
	return p, nil
}

// exchange is one request in flight: what is recorded of it.
type exchange struct {
	ex   drift.Exchange
	req  *capture
	resp *capture
	// answered: the upstream answered (ModifyResponse ran).
	answered bool
}

type ctxKey struct{}

func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if p.serveReport(w, r) {
		return
	}
	// The exchange counts as pending from its first byte, not from when it
	// is handed to a checker: a caller that has read the whole answer and
	// then calls Wait must find it counted (Add after Wait has begun is a
	// race, and would let Wait return before this exchange is recorded).
	p.pending.Add(1)
	handedOff := false
	defer func() {
		if !handedOff {
			p.pending.Done()
		}
	}()
	x := &exchange{ex: drift.Exchange{
		Method:        r.Method,
		URL:           &url.URL{Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: r.URL.RawQuery},
		RequestHeader: r.Header.Clone(),
	}}
	// A body of length 0 is never read (the reverse proxy sends none).
	if r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0 {
		x.req = &capture{rc: r.Body, max: p.maxBody, over: r.ContentLength > p.maxBody}
		r.Body = x.req
	} else {
		x.req = &capture{done: true}
	}
	r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, x))
	p.rp.ServeHTTP(w, r)
	if !x.answered {
		return
	}
	select {
	case p.checkers <- struct{}{}:
		handedOff = true
		go func() {
			defer func() { <-p.checkers; p.pending.Done() }()
			p.record(x)
		}()
	default:
		// Every checker is busy: count the exchange unchecked rather than
		// delay this answer's end or hold its bodies.
		x.ex.RequestBody, x.ex.ResponseBody = nil, nil
		x.ex.Busy = true
		p.rec.Record(&x.ex)
	}
}

func (p *Proxy) modifyResponse(resp *http.Response) error {
	x, _ := resp.Request.Context().Value(ctxKey{}).(*exchange)
	if x == nil {
		return nil
	}
	x.answered = true
	x.ex.Status = resp.StatusCode
	x.ex.ResponseHeader = resp.Header.Clone()
	// A body announced larger than the bound is not buffered at all.
	x.resp = &capture{rc: resp.Body, max: p.maxBody, over: resp.ContentLength > p.maxBody}
	if resp.Body == nil || resp.Body == http.NoBody {
		x.resp = &capture{done: true}
		return nil
	}
	resp.Body = x.resp
	return nil
}

// record checks what was captured, once the answer went out.
func (p *Proxy) record(x *exchange) {
	x.ex.RequestBody, x.ex.RequestTooLarge = x.req.bytes()
	x.ex.ResponseBody, x.ex.ResponseTooLarge = x.resp.bytes()
	// A body cut short (the caller or the upstream hung up) cannot be
	// judged: it is counted unchecked rather than as a violation.
	x.ex.Cut = !x.req.complete() || !x.resp.complete()
	p.rec.Record(&x.ex)
}

// Wait blocks until every exchange under way or answered is recorded: once a
// caller has read an answer, Wait returns only after that exchange is in the
// report.
func (p *Proxy) Wait() { p.pending.Wait() }

// Recorder returns the proxy's recorder.
func (p *Proxy) Recorder() *drift.Recorder { return p.rec }

// upstreamError answers the caller when the upstream did not: 504 when it
// was too slow, 502 otherwise, with the API's error body.
func (p *Proxy) upstreamError(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() != nil {
		// The caller went away: nobody to answer, nothing the upstream did.
		w.WriteHeader(http.StatusBadGateway)
		return
	}
	x, _ := r.Context().Value(ctxKey{}).(*exchange)
	kind, status, msg := "unreachable", http.StatusBadGateway, "interop proxy: the upstream could not be reached"
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout() {
		kind, status, msg = "timeout", http.StatusGatewayTimeout, "interop proxy: the upstream did not answer in time"
	}
	if x != nil {
		p.rec.UpstreamError(x.ex.Method, x.ex.URL, kind)
	}
	// The error's text names the upstream's address, never the request's
	// query or headers.
	p.logger.Warn("interop proxy: upstream error", "kind", kind, "method", r.Method, "error", describeError(err))
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	code := "bad_gateway"
	if status == http.StatusGatewayTimeout {
		code = "gateway_timeout"
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"status": status, "code": code, "message": msg}})
}

// describeError is err without the URL a *url.Error carries (its query
// could hold anything the caller sent).
func describeError(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return err.Error()
}

// serveReport serves the report endpoints; it reports whether r was one.
func (p *Proxy) serveReport(w http.ResponseWriter, r *http.Request) bool {
	path := r.URL.Path
	if path != ReportPath && path != ReportPath+".json" && path != ReportPath+".html" {
		return false
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusMethodNotAllowed)
		_, _ = io.WriteString(w, `{"error":{"status":405,"code":"method_not_allowed","message":"the report is read with GET"}}`+"\n")
		return true
	}
	rep := p.rec.Report()
	var buf bytes.Buffer
	html := path == ReportPath+".html" || path == ReportPath && prefersHTML(r.Header.Get("Accept"))
	var err error
	if html {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
		err = rep.WriteHTML(&buf)
	} else {
		w.Header().Set("Content-Type", "application/json")
		err = rep.WriteJSON(&buf)
	}
	if err != nil {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = io.WriteString(w, `{"error":{"status":500,"code":"internal_error","message":"the report could not be written"}}`+"\n")
		return true
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Vary", "Accept")
	_, _ = w.Write(buf.Bytes())
	return true
}

// prefersHTML reports whether an Accept header asks for HTML before JSON
// (a browser's does).
func prefersHTML(accept string) bool {
	h := strings.Index(accept, "text/html")
	j := strings.Index(accept, "application/json")
	return h >= 0 && (j < 0 || h < j)
}

// capture passes a body through and keeps a copy of its first max bytes.
type capture struct {
	rc   io.ReadCloser
	max  int64
	mu   sync.Mutex
	buf  bytes.Buffer
	over bool
	done bool // io.EOF was read: the copy is whole
}

func (c *capture) Read(b []byte) (int, error) {
	n, err := c.rc.Read(b)
	c.mu.Lock()
	if n > 0 && !c.over {
		if int64(c.buf.Len()+n) > c.max {
			c.over = true
			c.buf = bytes.Buffer{} // free it: the body is not checked
		} else {
			c.buf.Write(b[:n])
		}
	}
	if err == io.EOF {
		c.done = true
	}
	c.mu.Unlock()
	return n, err
}

func (c *capture) Close() error { return c.rc.Close() }

func (c *capture) bytes() ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.Bytes(), c.over
}

func (c *capture) complete() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.done || c.over
}
