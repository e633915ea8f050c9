package listen

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/interop-data/interop/pkg/client"
)

// The headers of a delivery and of its answer.
const (
	HeaderSignature = "Interop-Signature"
	HeaderTaskID    = "Interop-Task-Id"
	HeaderTaskKind  = "Interop-Task-Kind"
	HeaderTenantID  = "Interop-Tenant-Id"
	HeaderSequence  = "Interop-Sequence"
	HeaderAttempt   = "Interop-Delivery-Attempt"
	// HeaderAck, in an answer, names the acknowledgement: success, error,
	// retry or reauthenticate.
	HeaderAck = "Interop-Ack"
)

// Deliverer hands one task on. Its result acknowledges the task as a
// client.Handler's does: nil success, client.Retry or
// client.Reauthenticate, any other error an error with its text.
type Deliverer interface {
	Deliver(ctx context.Context, t *client.Task) error
}

// Run consumes c's task queue and hands every task to d until ctx ends,
// then drains as the consumer does (tasks in flight finish within the
// shutdown grace, acknowledgements are flushed) and returns nil. While ctx
// is done a Forwarder starts no new attempt: a task it could not deliver is
// released and comes back.
func Run(ctx context.Context, c *client.Client, d Deliverer, opts ...client.ConsumerOption) error {
	h := client.HandlerFuncs{Default: func(hctx context.Context, t *client.Task) error {
		return d.Deliver(context.WithValue(hctx, stopKey{}, ctx), t)
	}}
	return client.NewConsumer(c, h, opts...).Run(ctx)
}

type stopKey struct{}

// stopping returns the channel that closes when the listener stops (nil
// outside Run: never).
func stopping(ctx context.Context) <-chan struct{} {
	if s, ok := ctx.Value(stopKey{}).(context.Context); ok {
		return s.Done()
	}
	return nil
}

// Forwarder delivers tasks to an endpoint as POSTs.
type Forwarder struct {
	target  string
	hc      *http.Client
	secret  []byte
	timeout time.Duration
	min     time.Duration
	max     time.Duration
	sleep   func(ctx context.Context, d time.Duration) error
	now     func() time.Time
	logger  *slog.Logger
	ua      string
}

// Option configures a Forwarder.
type Option func(*Forwarder)

// WithSecret signs every delivery with HMAC-SHA256 under secret (see the
// package documentation).
func WithSecret(secret []byte) Option { return func(f *Forwarder) { f.secret = secret } }

// WithTimeout bounds one delivery attempt, answer included (30s by
// default); past it the attempt counts as failed and is made again.
func WithTimeout(d time.Duration) Option { return func(f *Forwarder) { f.timeout = d } }

// WithBackoff sets the pause between attempts: min doubled at each failure,
// up to max, the upper half jittered (defaults 1s and 1m).
func WithBackoff(min, max time.Duration) Option {
	return func(f *Forwarder) { f.min, f.max = min, max }
}

// WithHTTPClient sets the client deliveries go through (redirects are
// never followed: a 3xx is a failed attempt).
func WithHTTPClient(hc *http.Client) Option { return func(f *Forwarder) { f.hc = hc } }

// WithSleep replaces the pauses between attempts (tests); sleep must return
// ctx.Err() when ctx ends first.
func WithSleep(sleep func(ctx context.Context, d time.Duration) error) Option {
	return func(f *Forwarder) { f.sleep = sleep }
}

// WithClock sets the time signatures are made at (tests).
func WithClock(now func() time.Time) Option { return func(f *Forwarder) { f.now = now } }

// WithLogger logs failed attempts (task id, attempt, status or error
// class; never a body). Default: none.
func WithLogger(l *slog.Logger) Option { return func(f *Forwarder) { f.logger = l } }

// NewForwarder returns a Forwarder to target, an absolute http(s) URL.
func NewForwarder(target string, opts ...Option) (*Forwarder, error) {
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, &ConfigError{Reason: fmt.Sprintf("the endpoint %q is not an absolute http(s) URL", target)}
	}
	f := &Forwarder{
		target: target, timeout: 30 * time.Second, min: time.Second, max: time.Minute,
		sleep: sleepCtx, now: time.Now, logger: slog.New(slog.DiscardHandler),
		ua: "interop-listen/" + client.Version,
	}
	for _, o := range opts {
		o(f)
	}
	if f.timeout <= 0 || f.min <= 0 || f.max < f.min {
		return nil, &ConfigError{Reason: "the timeout and the backoff must be positive, and the backoff's max at least its min"}
	}
	hc := http.Client{}
	if f.hc != nil {
		hc = *f.hc
	}
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	f.hc = &hc
	return f, nil
}

// ConfigError is a Forwarder that cannot be made.
type ConfigError struct{ Reason string }

func (e *ConfigError) Error() string { return "listen: " + e.Reason }

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// outcome is what one attempt says.
type outcome int

const (
	again outcome = iota // not acknowledged: try again
	done                 // acknowledged: err says how
)

// Deliver posts t until the endpoint answers something other than a
// failure, or ctx ends (the task is then released by the consumer).
func (f *Forwarder) Deliver(ctx context.Context, t *client.Task) error {
	body := bytes.TrimSpace(t.Raw)
	stop := stopping(ctx)
	for attempt := 1; ; attempt++ {
		oc, why, err := f.attempt(ctx, t, body, attempt)
		if oc == done {
			return err
		}
		f.logger.Warn("interop listen: delivery failed; trying again", "task", t.ID, "attempt", attempt, "reason", why)
		pause := f.backoff(attempt)
		sctx, cancel := context.WithCancel(ctx)
		if stop != nil {
			go func() {
				select {
				case <-stop:
					cancel()
				case <-sctx.Done():
				}
			}()
		}
		serr := f.sleep(sctx, pause)
		cancel()
		if ctx.Err() != nil {
			return fmt.Errorf("not delivered after %d attempts (%s): %w", attempt, why, ctx.Err())
		}
		if serr != nil || isClosed(stop) {
			return client.Retry(fmt.Errorf("not delivered before the listener stopped (%s)", why))
		}
	}
}

func isClosed(c <-chan struct{}) bool {
	if c == nil {
		return false
	}
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// backoff is min*2^(n-1) capped at max, its upper half jittered.
func (f *Forwarder) backoff(n int) time.Duration {
	d := f.min
	for i := 1; i < n && d < f.max; i++ {
		d *= 2
	}
	d = min(d, f.max)
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}

// attempt makes one delivery; why says in a few words what failed.
func (f *Forwarder) attempt(ctx context.Context, t *client.Task, body []byte, n int) (outcome, string, error) {
	actx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodPost, f.target, bytes.NewReader(body))
	if err != nil {
		return done, "", fmt.Errorf("listen: %w", err)
	}
	h := req.Header
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", f.ua)
	h.Set(HeaderTaskID, t.ID.String())
	h.Set(HeaderTaskKind, t.Kind)
	h.Set(HeaderTenantID, t.TenantID.String())
	h.Set(HeaderSequence, strconv.FormatInt(t.Sequence, 10))
	h.Set(HeaderAttempt, strconv.Itoa(n))
	if f.secret != nil {
		h.Set(HeaderSignature, Sign(f.secret, f.now(), body))
	}
	resp, err := f.hc.Do(req)
	if err != nil {
		return again, errorClass(err, actx), nil
	}
	defer resp.Body.Close()
	text, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20)) // reuse the connection
	st := resp.StatusCode

	msg := message(text)
	if ack := strings.ToLower(strings.TrimSpace(resp.Header.Get(HeaderAck))); ack != "" {
		switch ack {
		case "success":
			return done, "", f.success(t, text)
		case "error":
			return done, "", errors.New(orStatus(msg, resp))
		case "retry":
			return done, "", client.Retry(errors.New(orStatus(msg, resp)))
		case "reauthenticate":
			return done, "", client.Reauthenticate(errors.New(orStatus(msg, resp)))
		}
		f.logger.Warn("interop listen: unknown "+HeaderAck+" value ignored", "task", t.ID, "value", bound(ack))
	}
	switch {
	case st >= 200 && st <= 299:
		return done, "", f.success(t, text)
	case st == http.StatusRequestTimeout || st == http.StatusTooManyRequests || st >= 500 || st < 200 || (st >= 300 && st <= 399),
		// The endpoint refused the listener itself (a secret that differs,
		// say): nothing was processed, and an error acknowledgement would
		// drop every task until the configuration is fixed.
		st == http.StatusUnauthorized || st == http.StatusForbidden:
		return again, "HTTP " + strconv.Itoa(st), nil
	default: // 4xx
		return done, "", errors.New(orStatus(msg, resp))
	}
}

// success records the message and app id a 2xx answer's JSON body may
// carry.
func (f *Forwarder) success(t *client.Task, text []byte) error {
	var b struct {
		Message *string `json:"message"`
		AppID   *string `json:"app_id"`
	}
	if json.Unmarshal(text, &b) == nil {
		if b.Message != nil {
			t.SetMessage(*b.Message)
		}
		if b.AppID != nil {
			t.SetAppID(*b.AppID)
		}
	}
	return nil
}

// message is an error answer's text: its "message" member when it is a
// JSON object that has one, else the text itself.
func message(text []byte) string {
	var b struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(text, &b) == nil && b.Message != "" {
		return b.Message
	}
	return strings.TrimSpace(string(text))
}

func orStatus(msg string, resp *http.Response) string {
	if msg != "" {
		return msg
	}
	return "the endpoint answered " + resp.Status
}

func bound(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

// errorClass names a failed attempt without the URL's query or anything
// sent.
func errorClass(err error, actx context.Context) string {
	switch {
	case errors.Is(err, context.DeadlineExceeded) || actx.Err() == context.DeadlineExceeded:
		return "time-out"
	case strings.Contains(err.Error(), "connection refused"):
		return "connection refused"
	case strings.Contains(err.Error(), "reset") || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return "connection reset"
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}

// Sign returns the Interop-Signature header value of body under secret at
// time at: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">.
func Sign(secret []byte, at time.Time, body []byte) string {
	ts := strconv.FormatInt(at.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac(secret, ts, body))
}

func mac(secret []byte, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// ErrSignature is wrapped by Verify's errors.
var ErrSignature = errors.New("listen: bad signature")

// Verify checks an Interop-Signature header value against body and secret,
// and that it was made within tolerance of now (a replayed delivery is
// refused). It is what an endpoint written in Go runs first.
func Verify(secret []byte, header string, body []byte, now time.Time, tolerance time.Duration) error {
	var ts string
	var sigs [][]byte
	for _, part := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		switch k {
		case "t":
			ts = v
		case "v1":
			if b, err := hex.DecodeString(v); err == nil {
				sigs = append(sigs, b)
			}
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return fmt.Errorf("%w: want t=<unix seconds>,v1=<hex>", ErrSignature)
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("%w: made %s from now, beyond %s", ErrSignature, d.Round(time.Second), tolerance)
	}
	want := mac(secret, ts, body)
	for _, s := range sigs {
		if hmac.Equal(s, want) {
			return nil
		}
	}
	return fmt.Errorf("%w: no v1 signature matches the body", ErrSignature)
}

// JSONLines writes each task as one line of JSON on w and acknowledges it
// success once written; a task that cannot be written is released.
type JSONLines struct {
	mu sync.Mutex
	w  io.Writer
}

// NewJSONLines returns a Deliverer writing on w.
func NewJSONLines(w io.Writer) *JSONLines { return &JSONLines{w: w} }

// Deliver implements Deliverer.
func (j *JSONLines) Deliver(_ context.Context, t *client.Task) error {
	var line bytes.Buffer
	if err := json.Compact(&line, t.Raw); err != nil {
		return fmt.Errorf("the task is not JSON: %w", err)
	}
	line.WriteByte('\n')
	j.mu.Lock()
	defer j.mu.Unlock()
	if _, err := j.w.Write(line.Bytes()); err != nil {
		return client.Retry(fmt.Errorf("writing the task: %w", err))
	}
	return nil
}
