package conformance

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Notice is printed before the suite starts, because the suite is not
// read-only: it consumes the task queues it is pointed at.
const Notice = "interop conformance: this suite reads roster data and only changes task queues: " +
	"it leases, acknowledges and deletes tasks of the tenants whose credentials it is given. " +
	"It creates, changes and deletes nothing else."

// Credentials are one OAuth2 client of one tenant.
type Credentials struct {
	ClientID     string
	ClientSecret string
}

// Config says where the server under test is and how to reach it.
type Config struct {
	// BaseURL is the API's base URL, ending in /v2/interop/data (or wherever
	// the server mounts it); operation paths are appended to it.
	BaseURL string
	// TokenURL is the OAuth2 token endpoint. Empty means /oauth/token on the
	// host of BaseURL, where the reference server serves it.
	TokenURL string
	// Clients holds one or two clients. The second, when given, must belong to
	// a different tenant: it enables the isolation checks.
	Clients []Credentials
	// LTIToken, when set, is an LTI JWT the server accepts, naming the
	// tenant of Clients[0] and no other: the auth checks try it (and a
	// tampered copy), and the isolation checks run again with it in place of
	// the first client's token.
	LTIToken string
	// LeaseWait is how long a task lease lasts on the server under test. Zero
	// skips the redelivery check; otherwise the suite waits that long (through
	// Wait) for a leased task to be delivered again.
	LeaseWait time.Duration
	// HTTPClient sends every request; nil means a client with a 30s timeout.
	HTTPClient *http.Client
	// Wait lets time pass for the redelivery check. Nil sleeps (honouring ctx);
	// tests inject a fake clock's Advance here instead of sleeping.
	Wait func(ctx context.Context, d time.Duration) error
	// Groups, when set, runs only these groups of checks (auth, paging,
	// finds, memberships, tasks, isolation); the spec group always reports on
	// the operations the chosen groups exercised.
	Groups []string
	// Run and Skip, when set, are regular expressions matched against each
	// check's "group/name" (e.g. "tasks/group acknowledgement", "^finds/"):
	// only checks Run matches and Skip does not are run and reported. The
	// spec group's checks are selected the same way; they judge what the
	// selected checks exercised.
	Run, Skip string
	// Progress, when set, receives the Notice and one line per group as the
	// suite advances.
	Progress io.Writer
}

// Verdict is the outcome of one check.
type Verdict string

// The verdicts.
const (
	Pass Verdict = "pass"
	Fail Verdict = "fail"
	Skip Verdict = "skip"
	// NotImplemented is a check that could not judge because an operation it
	// called answered 501 Not Implemented (a server built on the kit's
	// server.Unimplemented, say). The contract does not declare 501, but a
	// server under construction is not breaking it: such checks are counted
	// apart from passed, failed and skipped, and do not fail the run.
	NotImplemented Verdict = "not_implemented"
)

// Result is the verdict of one named check, why it was reached and what the
// suite saw (requests and responses, abridged).
type Result struct {
	Group    string  `json:"group"`
	Name     string  `json:"name"`
	Verdict  Verdict `json:"verdict"`
	Reason   string  `json:"reason,omitempty"`
	Evidence string  `json:"evidence,omitempty"`
	// Duration is how long the check took (0 for the spec group, judged
	// from the other checks' exchanges).
	Duration time.Duration `json:"duration_ns,omitempty"`
}

// Report is the outcome of a run, results in group order.
type Report struct {
	BaseURL  string        `json:"base_url"`
	Started  time.Time     `json:"started"`
	Duration time.Duration `json:"duration_ns"`
	Results  []Result      `json:"results"`
}

// Counts returns how many checks passed, failed and were skipped. Checks
// that met an operation answering 501 are counted by NotImplemented instead.
func (r *Report) Counts() (passed, failed, skipped int) {
	for _, res := range r.Results {
		switch res.Verdict {
		case Pass:
			passed++
		case Fail:
			failed++
		case NotImplemented:
		default:
			skipped++
		}
	}
	return
}

// NotImplemented returns how many checks could not judge because an
// operation answered 501 Not Implemented, and the operations of the contract
// that never answered anything but 501 (in the order of the spec group).
func (r *Report) NotImplemented() (checks int, operations []string) {
	for _, res := range r.Results {
		if res.Verdict != NotImplemented {
			continue
		}
		checks++
		if res.Group == "spec" {
			operations = append(operations, strings.TrimSuffix(res.Name, specCheckSuffix))
		}
	}
	return checks, operations
}

// OK reports whether no check failed.
func (r *Report) OK() bool {
	_, failed, _ := r.Counts()
	return failed == 0
}

// ErrUnreachable is wrapped by the error Run returns when the server (or its
// token endpoint) cannot be reached or refuses the given credentials, so that
// no check could run at all.
var ErrUnreachable = errors.New("conformance: server under test is not usable")

// Run executes the whole suite against cfg.BaseURL. It returns an error only
// when the suite cannot run at all (bad configuration, server down, the
// credentials refused); every broken promise is a failed Result instead.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	r, err := newRun(cfg)
	if err != nil {
		return nil, err
	}
	if cfg.Progress != nil {
		fmt.Fprintln(cfg.Progress, Notice)
	}
	if err := r.start(ctx); err != nil {
		return nil, err
	}
	rep := &Report{BaseURL: r.base.String(), Started: time.Now()}
	rep.Results = r.runAll(ctx)
	rep.Duration = time.Since(rep.Started)
	return rep, nil
}

func (c Config) normalised() (Config, *url.URL, error) {
	if c.BaseURL == "" {
		return c, nil, errors.New("conformance: BaseURL is required")
	}
	base, err := url.Parse(strings.TrimRight(c.BaseURL, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return c, nil, fmt.Errorf("conformance: BaseURL %q is not an absolute http(s) URL", c.BaseURL)
	}
	if c.TokenURL == "" {
		c.TokenURL = (&url.URL{Scheme: base.Scheme, Host: base.Host, Path: "/oauth/token"}).String()
	}
	if tu, err := url.Parse(c.TokenURL); err != nil || tu.Host == "" {
		return c, nil, fmt.Errorf("conformance: TokenURL %q is not an absolute URL", c.TokenURL)
	}
	if len(c.Clients) == 0 || len(c.Clients) > 2 {
		return c, nil, fmt.Errorf("conformance: want one or two clients, got %d", len(c.Clients))
	}
	for i, cl := range c.Clients {
		if cl.ClientID == "" || cl.ClientSecret == "" {
			return c, nil, fmt.Errorf("conformance: client %d needs an id and a secret", i+1)
		}
	}
	if len(c.Clients) == 2 && c.Clients[0].ClientID == c.Clients[1].ClientID {
		return c, nil, errors.New("conformance: the two clients must differ (they must belong to different tenants)")
	}
	for _, g := range c.Groups {
		if !slices.Contains(groupOrder[1:], g) {
			return c, nil, fmt.Errorf("conformance: unknown group %q (want one of %v)", g, groupOrder[1:])
		}
	}
	for _, p := range []struct{ name, expr string }{{"Run", c.Run}, {"Skip", c.Skip}} {
		if _, err := regexp.Compile(p.expr); err != nil {
			return c, nil, fmt.Errorf("conformance: %s %q is not a regular expression: %v", p.name, p.expr, err)
		}
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if c.Wait == nil {
		c.Wait = sleep
	}
	return c, base, nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
