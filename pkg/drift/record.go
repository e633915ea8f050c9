package drift

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/interop-data/interop/pkg/contract"
)

// MaxUnmatched bounds the distinct method and path pairs Unmatched keeps;
// the rest are counted under the path "(other)".
const MaxUnmatched = 100

// DefaultMaxBody is the default bound of a body the proxy buffers, and of a
// compressed answer once inflated: larger ones are counted "too large".
const DefaultMaxBody = 8 << 20

// Exchange is one request and its answer, as recorded.
type Exchange struct {
	Method string
	// URL is the request's URL; its path and query are read.
	URL           *url.URL
	RequestHeader http.Header
	RequestBody   []byte
	// RequestTooLarge: the body was larger than what was kept; it is not
	// checked.
	RequestTooLarge bool

	Status         int
	ResponseHeader http.Header
	// ResponseBody is the answer's body as on the wire (a gzip
	// Content-Encoding is undone before checking).
	ResponseBody     []byte
	ResponseTooLarge bool
	// ResponseBodyMissing: the recording holds no body for the answer (a
	// HAR may leave it out); the body is not checked.
	ResponseBodyMissing bool
	// Cut: a body ended early (the caller or the upstream hung up); the
	// bodies are not checked.
	Cut bool
	// Busy: there was no capacity to check the exchange; only its call
	// and status are counted.
	Busy bool
}

// Recorder checks exchanges and keeps the drift report. It is safe for
// concurrent use; the checking runs outside its lock.
type Recorder struct {
	c        *contract.Compiled
	basePath string
	maxBody  int64
	logger   *slog.Logger
	vocab    *vocabulary

	mu          sync.Mutex
	ops         map[string]*opState
	unmatched   map[Unmatched]int
	passthrough int
	upstream    map[UpstreamError]int
	routed      bool // some operation answered a success status
}

type opState struct {
	calls      int
	statuses   map[string]int
	violations map[Violation]int
	variants   map[string]int
	notChecked map[string]int
	confirmed  bool
	refuted    bool
}

// Option configures a Recorder.
type Option func(*Recorder)

// WithBasePath sets the path under which the API is served
// (contract.BasePath by default). A request whose path holds it with a
// prefix before (a mount point) is matched too.
func WithBasePath(p string) Option {
	return func(r *Recorder) { r.basePath = strings.TrimRight(p, "/") }
}

// WithMaxBody bounds the size of an answer inflated from its
// Content-Encoding (DefaultMaxBody by default).
func WithMaxBody(n int64) Option { return func(r *Recorder) { r.maxBody = n } }

// WithLogger logs each group of violations when it first appears (its
// operation, direction, pointer and rule: never a value). Default: none.
func WithLogger(l *slog.Logger) Option { return func(r *Recorder) { r.logger = l } }

// NewRecorder returns a Recorder with an empty report.
func NewRecorder(opts ...Option) (*Recorder, error) {
	c, err := contract.Shared()
	if err != nil {
		return nil, err
	}
	r := &Recorder{
		c: c, basePath: contract.BasePath, maxBody: DefaultMaxBody,
		logger:    slog.New(slog.NewTextHandler(io.Discard, nil)),
		vocab:     newVocabulary(c),
		ops:       map[string]*opState{},
		unmatched: map[Unmatched]int{},
		upstream:  map[UpstreamError]int{},
	}
	for _, o := range opts {
		o(r)
	}
	return r, nil
}

// BasePath is the path under which the Recorder expects the API.
func (r *Recorder) BasePath() string { return r.basePath }

// rel returns the path of u relative to the API's base path, as on the
// wire, or false when u is outside the API.
func (r *Recorder) rel(u *url.URL) (string, bool) {
	p := u.EscapedPath()
	i := strings.Index(p, r.basePath)
	if i < 0 {
		return "", false
	}
	rel := p[i+len(r.basePath):]
	if rel != "" && rel[0] != '/' {
		return "", false
	}
	return rel, true
}

// Record checks one exchange and adds it to the report.
func (r *Recorder) Record(ex *Exchange) {
	rel, ok := r.rel(ex.URL)
	if !ok {
		r.mu.Lock()
		r.passthrough++
		r.mu.Unlock()
		return
	}
	op, params, err := r.c.Find(ex.Method, rel)
	if err != nil {
		r.addUnmatched(ex.Method, rel)
		return
	}
	var res result
	if ex.Busy {
		res.notChecked = []string{"busy"}
	} else {
		res = r.check(context.Background(), op, params, rel, ex)
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	st := r.state(op.ID)
	st.calls++
	st.statuses[statusKey(ex.Status)]++
	for _, v := range res.violations {
		if st.violations[v] == 0 {
			r.logger.Warn("interop: contract violation", "operation", op.ID, "direction", v.Direction,
				"pointer", v.Pointer, "rule", v.Rule, "status", ex.Status)
		}
		st.violations[v]++
	}
	for _, c := range res.variants {
		st.variants[c]++
	}
	for _, n := range res.notChecked {
		st.notChecked[n]++
	}
	if ex.Status >= 200 && ex.Status <= 299 {
		st.confirmed = true
		r.routed = true
	}
	// A 405 says the method is not served there, whatever its body; a
	// 404 only when its body is not the API's own error (res.refutes).
	if res.refutes || ex.Status == http.StatusMethodNotAllowed {
		st.refuted = true
	}
}

// UpstreamError records a request the upstream did not answer: kind is
// "timeout" or "unreachable".
func (r *Recorder) UpstreamError(method string, u *url.URL, kind string) {
	id := ""
	if rel, ok := r.rel(u); ok {
		if op, _, err := r.c.Find(method, rel); err == nil {
			id = op.ID
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if id != "" {
		r.state(id).calls++
	}
	r.upstream[UpstreamError{Operation: id, Error: kind}]++
}

func (r *Recorder) state(id string) *opState {
	st := r.ops[id]
	if st == nil {
		st = &opState{statuses: map[string]int{}, violations: map[Violation]int{}, variants: map[string]int{}, notChecked: map[string]int{}}
		r.ops[id] = st
	}
	return st
}

func (r *Recorder) addUnmatched(method, rel string) {
	k := Unmatched{Method: boundMethod(method), Path: r.vocab.path(rel)}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.unmatched[k]; !ok && len(r.unmatched) >= MaxUnmatched {
		k = Unmatched{Method: "*", Path: "(other)"}
	}
	r.unmatched[k]++
}

// boundMethod keeps a method the report can show: an HTTP token of at most
// 16 characters, else "(other)".
func boundMethod(m string) string {
	if len(m) == 0 || len(m) > 16 {
		return "(other)"
	}
	for _, c := range m {
		if c < 'A' || c > 'Z' {
			return "(other)"
		}
	}
	return m
}

// Report returns a snapshot of the report.
func (r *Recorder) Report() *Report {
	r.mu.Lock()
	defer r.mu.Unlock()
	rep := &Report{
		Operations:     map[string]*Operation{},
		Unmatched:      []Unmatched{},
		Unseen:         []string{},
		Unconfirmed:    map[string]string{},
		Passthrough:    r.passthrough,
		UpstreamErrors: []UpstreamError{},
	}
	for _, op := range r.c.Operations() {
		st := r.ops[op.ID]
		if unconfirmed(op) {
			switch {
			case st != nil && st.confirmed:
				rep.Unconfirmed[op.ID] = Confirmed
			case st != nil && st.refuted && r.routed:
				rep.Unconfirmed[op.ID] = Refuted
			default:
				rep.Unconfirmed[op.ID] = NotSeen
			}
		}
		if st == nil || st.calls == 0 {
			rep.Unseen = append(rep.Unseen, op.ID)
			continue
		}
		o := &Operation{Calls: st.calls, Statuses: map[string]int{}, Violations: []Violation{}, Variants: map[string]int{}}
		for k, n := range st.statuses {
			o.Statuses[k] = n
		}
		for v, n := range st.violations {
			v.Count = n
			o.Violations = append(o.Violations, v)
		}
		for k, n := range st.variants {
			o.Variants[k] = n
		}
		if len(st.notChecked) > 0 {
			o.NotChecked = map[string]int{}
			for k, n := range st.notChecked {
				o.NotChecked[k] = n
			}
		}
		rep.Operations[op.ID] = o
	}
	for k, n := range r.unmatched {
		k.Count = n
		rep.Unmatched = append(rep.Unmatched, k)
	}
	for k, n := range r.upstream {
		k.Count = n
		rep.UpstreamErrors = append(rep.UpstreamErrors, k)
	}
	sortReport(rep)
	return rep
}

func unconfirmed(op *contract.Operation) bool {
	v, ok := op.Route.Operation.Extensions["x-unconfirmed"]
	b, isBool := v.(bool)
	return ok && isBool && b
}

// String summarises the report in one line, for a log.
func (r *Report) String() string {
	req, resp := r.Violations()
	calls := 0
	for _, o := range r.Operations {
		calls += o.Calls
	}
	return fmt.Sprintf("%d calls to %d operations, %d request and %d response violations, %d unmatched, %d unseen",
		calls, len(r.Operations), req, resp, len(r.Unmatched), len(r.Unseen))
}
