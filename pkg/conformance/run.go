package conformance

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"runtime/debug"
	"slices"
	"strings"
	"time"
)

// run is one execution of the suite: configuration, the tenants, the
// validator and every exchange made so far (for the per-operation checks).
type run struct {
	cfg     Config
	base    *url.URL
	spec    *validator
	tenants []*tenant

	// ops records, per operation id, what the suite saw.
	ops map[string]*opLog
	// queueEmpty is set when the first tenant's queue held no task, so the
	// operations that need one could not be exercised.
	queueEmpty bool
	// roster caches the first tenant's list walks: several groups need them.
	roster map[string][]object
	// sawNotImplemented is set by the first 501 of an operation: from then
	// on, operations may have gone uncalled because what leads to them is
	// not implemented.
	sawNotImplemented bool
	// lti is the first tenant as an LTI JWT caller (Config.LTIToken), or nil.
	lti *tenant
	// lacking maps an operation to what the tenant must hold for the suite
	// to call it with success, when a check found the tenant without it:
	// its spec check is then skipped, saying what to load, not failed.
	lacking map[string]string
	// only and skip are Config.Run and Config.Skip compiled (nil: unset).
	only, skip *regexp.Regexp
}

// selected reports whether Config.Run and Config.Skip select the check
// group/name.
func (r *run) selected(group, name string) bool {
	full := group + "/" + name
	return (r.only == nil || r.only.MatchString(full)) && (r.skip == nil || !r.skip.MatchString(full))
}

type opLog struct {
	statuses   map[int]int
	violations []*exchange
	success    bool
	// notImplemented counts 501 answers: not violations (see NotImplemented).
	notImplemented int
}

func newRun(cfg Config) (*run, error) {
	cfg, base, err := cfg.normalised()
	if err != nil {
		return nil, err
	}
	v, err := newValidator()
	if err != nil {
		return nil, err
	}
	r := &run{cfg: cfg, base: base, spec: v, ops: map[string]*opLog{}, roster: map[string][]object{}, lacking: map[string]string{}}
	if cfg.Run != "" {
		r.only = regexp.MustCompile(cfg.Run) // normalised compiled it
	}
	if cfg.Skip != "" {
		r.skip = regexp.MustCompile(cfg.Skip)
	}
	for i, c := range cfg.Clients {
		r.tenants = append(r.tenants, &tenant{label: fmt.Sprintf("tenant %d", i+1), creds: c})
	}
	if cfg.LTIToken != "" {
		r.lti = &tenant{label: "tenant 1 (LTI JWT)", token: cfg.LTIToken}
	}
	return r, nil
}

// start obtains a token for every client. Failing here means no check can
// run, which is an error of the run rather than a failed check.
func (r *run) start(ctx context.Context) error {
	for _, t := range r.tenants {
		form := url.Values{"grant_type": {"client_credentials"}, "client_id": {t.creds.ClientID}, "client_secret": {t.creds.ClientSecret}}
		tx, err := r.tokenRequest(ctx, form, nil)
		if err != nil {
			return fmt.Errorf("%w: token endpoint %s: %v", ErrUnreachable, r.cfg.TokenURL, err)
		}
		tok, _ := tx.JSON["access_token"].(string)
		if tx.Status != http.StatusOK || tok == "" {
			return fmt.Errorf("%w: the token endpoint refused the credentials of %s (client %q): %s",
				ErrUnreachable, t.label, t.creds.ClientID, tx)
		}
		t.token = tok
	}
	// One authenticated request proves the API itself answers.
	if _, err := r.do(ctx, request{method: http.MethodGet, path: "/rostering/orgs", query: url.Values{"page_size": {"1"}}}); err != nil {
		return fmt.Errorf("%w: %v", ErrUnreachable, err)
	}
	return nil
}

func (r *run) record(ex *exchange) {
	if ex.OpID == "" {
		return
	}
	l := r.ops[ex.OpID]
	if l == nil {
		l = &opLog{statuses: map[int]int{}}
		r.ops[ex.OpID] = l
	}
	l.statuses[ex.Status]++
	if notImplemented(ex) {
		l.notImplemented++
		r.sawNotImplemented = true
		return
	}
	if ex.Violation != nil {
		l.violations = append(l.violations, ex)
	}
	if ex.Status >= 200 && ex.Status < 300 {
		l.success = true
	}
}

// check is one named promise of the contract.
type check struct {
	group, name string
	run         func(c *C)
}

// C is what a check runs with: the run, and the verdict it is building.
type C struct {
	ctx context.Context
	r   *run
	res *Result
	// seen holds the check's exchanges, the last of which become evidence.
	seen []string
	// notes are evidence the check wants to keep even when it passes.
	notes []string
	// pending is the last answer, not yet held to the contract; see conforms.
	pending *exchange
}

// stop ends a check early (like testing's FailNow); runCheck recovers it.
type stop struct{}

func (c *C) failf(format string, args ...any) {
	c.res.Verdict = Fail
	c.res.Reason = fmt.Sprintf(format, args...)
	panic(stop{})
}

func (c *C) skipf(format string, args ...any) {
	c.res.Verdict = Skip
	c.res.Reason = fmt.Sprintf(format, args...)
	panic(stop{})
}

// What to load when a check is skipped because the tenant lacks data.
const (
	loadRoster = "load a roster into the tenant (reference server: interop load --tenant ID EXPORT; serve --demo loads the demo tenant's)"
	loadTasks  = "fill the tenant's task queue (reference server: loading a roster enqueues a sync; interop tenant reset --tenant demo --yes, then serve --demo, refills the demo's)"
)

// skipLacking ends the check as skipped because the tenant lacks data,
// saying what to load (hint). ops are the operations that, for lack of it,
// could not be called with success: their spec checks are skipped with the
// same hint rather than failed.
func (c *C) skipLacking(hint string, ops []string, format string, args ...any) {
	for _, op := range ops {
		if _, ok := c.r.lacking[op]; !ok {
			c.r.lacking[op] = hint
		}
	}
	c.skipf("%s: %s", fmt.Sprintf(format, args...), hint)
}

func (c *C) notef(format string, args ...any) {
	c.notes = append(c.notes, fmt.Sprintf(format, args...))
}

// send performs a request; a transport error ends the check as failed. The
// answer is held to the contract at the next conforms: by want or wantError
// after its status, by the next send, or when the check ends.
func (c *C) send(q request) *exchange {
	c.conforms()
	ex, err := c.r.do(c.ctx, q)
	if err != nil {
		if ctxErr := c.ctx.Err(); ctxErr != nil {
			c.failf("the run was cancelled: %v", ctxErr)
		}
		c.failf("%s %s: the server did not answer: %v", q.method, q.path+q.rawURL, err)
	}
	c.seen = append(c.seen, ex.String())
	if notImplemented(ex) {
		c.res.Verdict = NotImplemented
		c.res.Reason = fmt.Sprintf("not implemented: %s (%s %s) answered 501 Not Implemented, so this check cannot judge it yet",
			ex.OpID, ex.Method, ex.Rel)
		panic(stop{})
	}
	c.pending = ex
	return ex
}

// notImplemented reports whether ex is an operation of the contract
// answering 501: a server that has not written it yet, not one that breaks
// it. A 501 to a path the contract does not have is judged as any answer.
func notImplemented(ex *exchange) bool {
	return ex.Status == http.StatusNotImplemented && ex.OpID != ""
}

// conforms ends the check when the last answer breaks the contract. It runs
// after the check has judged that answer's status, so that a 200 where the
// contract promises 404 is reported as the wrong status, the broken promise,
// rather than as whatever body came with it.
func (c *C) conforms() {
	ex := c.pending
	c.pending = nil
	if ex != nil && ex.Violation != nil {
		c.failf("every response must match the contract, but %s %s (%s) answered %d: %v",
			ex.Method, ex.Rel, ex.OpID, ex.Status, ex.Violation)
	}
}

func (c *C) get(as *tenant, path string, q url.Values) *exchange {
	return c.send(request{method: http.MethodGet, path: path, query: q, as: as})
}

// want ends the check when ex's status is not status; promise says what
// the contract promises, in words.
func (c *C) want(ex *exchange, status int, promise string) {
	if ex.Status != status {
		c.failf("%s, but %s %s answered %d (want %d)", promise, ex.Method, ex.Rel, ex.Status, status)
	}
	c.conforms()
}

// wantError is want for an error answer whose body is the contract's error
// object with the same status (the schema itself is checked by send).
func (c *C) wantError(ex *exchange, status int, promise string) {
	c.want(ex, status, promise)
	m, _ := ex.JSON.(map[string]any)
	e, _ := m["error"].(map[string]any)
	if e == nil {
		c.failf("%s with the contract's {\"error\": {...}} body, but %s %s answered %s", promise, ex.Method, ex.Rel, abridge(ex.Body, 200))
	}
	if s := fmt.Sprint(e["status"]); s != fmt.Sprint(status) {
		c.failf("%s; error.status must repeat the HTTP status, but %s %s answered %d with error.status %s", promise, ex.Method, ex.Rel, ex.Status, s)
	}
}

func (r *run) runCheck(ctx context.Context, k check) (res Result) {
	res = Result{Group: k.group, Name: k.name, Verdict: Pass}
	c := &C{ctx: ctx, r: r, res: &res}
	start := time.Now()
	defer func() {
		res.Duration = time.Since(start)
		if p := recover(); p != nil {
			if _, ok := p.(stop); !ok {
				res.Verdict = Fail
				res.Reason = fmt.Sprintf("the check itself panicked (a suite bug): %v\n%s", p, debug.Stack())
			}
		}
		res.Evidence = c.evidence(res.Verdict)
	}()
	k.run(c)
	c.conforms()
	return res
}

func (c *C) evidence(v Verdict) string {
	var lines []string
	lines = append(lines, c.notes...)
	if v == Fail && len(c.seen) > 0 {
		last := c.seen
		if len(last) > 3 {
			last = last[len(last)-3:]
		}
		lines = append(lines, last...)
	}
	if v == Pass && len(c.seen) > 0 {
		lines = append(lines, fmt.Sprintf("%d requests", len(c.seen)))
	}
	return strings.Join(lines, "\n")
}

// groups in report order. The spec group is filled in last, from every
// exchange of the run, but reported first.
var groupOrder = []string{"spec", "auth", "paging", "finds", "memberships", "tasks", "isolation"}

func (r *run) runAll(ctx context.Context) []Result {
	byGroup := map[string][]Result{}
	for _, g := range groupOrder[1:] {
		if len(r.cfg.Groups) > 0 && !slices.Contains(r.cfg.Groups, g) {
			continue
		}
		if r.cfg.Progress != nil {
			fmt.Fprintf(r.cfg.Progress, "checking %s…\n", g)
		}
		for _, k := range r.checks(g) {
			if !r.selected(g, k.name) {
				continue
			}
			if ctx.Err() != nil {
				byGroup[g] = append(byGroup[g], Result{Group: g, Name: k.name, Verdict: Skip, Reason: "the run was cancelled"})
				continue
			}
			byGroup[g] = append(byGroup[g], r.runCheck(ctx, k))
		}
	}
	for _, res := range r.specResults(ctx) {
		if r.selected(res.Group, res.Name) {
			byGroup["spec"] = append(byGroup["spec"], res)
		}
	}
	var out []Result
	for _, g := range groupOrder {
		out = append(out, byGroup[g]...)
	}
	return out
}

func (r *run) checks(group string) []check {
	switch group {
	case "auth":
		return r.authChecks()
	case "paging":
		return r.pagingChecks()
	case "finds":
		return r.findChecks()
	case "memberships":
		return r.membershipChecks()
	case "tasks":
		return r.taskChecks()
	case "isolation":
		return r.isolationChecks()
	}
	return nil
}

func randomUUID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(errors.New("crypto/rand failed"))
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
