package conformance_test

import (
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers"

	"github.com/interop-data/interop/internal/specroute"
	"github.com/interop-data/interop/pkg/conformance"
	"github.com/interop-data/interop/pkg/contract"
)

// A sweep breaks one promise everywhere it applies (every list, every find,
// or one operation) and wants every check of that promise to fail. The named
// breakages (broken_test.go) show one careless server each against the
// reference; the sweeps show that no check of a family is blind, on the fake,
// which runs the whole suite in a fraction of the time.
type sweep struct {
	name   string
	wrap   func(tg *target) http.Handler
	groups []string
	// fails selects the results that must fail, with reason in their reason.
	fails  func(group, name string) bool
	reason string
}

type loadedContract struct {
	doc    *openapi3.T
	router routers.Router
}

var (
	contractOnce = sync.OnceValue(func() loadedContract {
		doc, router, err := specroute.NewRouter()
		if err != nil {
			panic(err)
		}
		return loadedContract{doc, router}
	})
	opIDs = sync.OnceValue(func() []string {
		doc := contractOnce().doc
		var ids []string
		for _, item := range doc.Paths.Map() {
			for _, op := range item.Operations() {
				ids = append(ids, op.OperationID)
			}
		}
		sort.Strings(ids)
		return ids
	})
)

// opOf is the contract's operation id for r ("" outside the API).
func (tg *target) opOf(r *http.Request) string {
	rel := tg.rel(r)
	if rel == "" {
		return ""
	}
	req, _ := http.NewRequest(r.Method, "http://conformance.invalid"+contract.BasePath+rel, nil)
	route, _, err := contractOnce().router.FindRoute(req)
	if err != nil {
		return ""
	}
	return route.Operation.OperationID
}

// isPagedList is every list operation whose walks the paging group checks.
func isPagedList(op string) bool { return strings.HasPrefix(op, "list") && op != "listTasks" }

func sweeps() []sweep {
	sw := []sweep{
		{
			name: "every list links a page after the last",
			wrap: func(tg *target) http.Handler {
				return editJSON(tg, func(r *http.Request, _ string) bool { return isGet(r) && isPagedList(tg.opOf(r)) },
					func(r *http.Request, s int, b map[string]any) (int, any) {
						p, _ := b["paging"].(map[string]any)
						if d, _ := b["data"].([]any); len(d) == 0 || p == nil || p["next"] != nil {
							return s, b
						}
						q := r.URL.Query()
						pg, _ := strconv.Atoi(q.Get("page"))
						q.Set("page", strconv.Itoa(pg+1))
						p["next"] = "http://" + r.Host + r.URL.Path + "?" + q.Encode()
						return s, b
					})
			},
			groups: []string{"paging"},
			fails: func(g, n string) bool {
				return g == "paging" && strings.HasSuffix(n, "yields every object exactly once") || strings.HasSuffix(n, "yields every task exactly once")
			},
			reason: "paging.next must be null exactly at the end",
		},
		{
			name: "every find answers other content than its list",
			wrap: func(tg *target) http.Handler {
				return editJSON(tg, func(r *http.Request, _ string) bool { return isGet(r) && strings.HasPrefix(tg.opOf(r), "find") },
					func(_ *http.Request, s int, b map[string]any) (int, any) {
						if d, ok := b["data"].(map[string]any); ok {
							if sys, ok := d["$sys"].(map[string]any); ok {
								sys["label"] = "changed by the breakage"
							}
						}
						return s, b
					})
			},
			groups: []string{"finds"},
			fails:  func(g, n string) bool { return g == "finds" && strings.Contains(n, "objects are found by $sys.id") },
			reason: "$sys differs",
		},
	}
	// One sweep per operation: its successes answer an empty object, which no
	// success schema of the contract allows.
	for _, op := range opIDs() {
		sw = append(sw, sweep{
			name: op + " answers bodies outside its schema",
			wrap: func(tg *target) http.Handler {
				return editJSON(tg, func(r *http.Request, _ string) bool { return tg.opOf(r) == op },
					func(_ *http.Request, s int, b map[string]any) (int, any) {
						if s >= 200 && s < 300 {
							return s, map[string]any{}
						}
						return s, b
					})
			},
			fails:  func(g, n string) bool { return g == "spec" && strings.HasPrefix(n, op+" ") },
			reason: "does not match the contract's schema",
		})
	}
	return sw
}

func TestSweepsFailEveryCheckOfTheirPromise(t *testing.T) {
	for _, s := range sweeps() {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			tg := fakeTarget(t)
			cfg := tg.serve(t, s.wrap(tg))
			cfg.Groups = s.groups
			rep, err := conformance.Run(t.Context(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, res := range rep.Results {
				if !s.fails(res.Group, res.Name) {
					continue
				}
				n++
				if res.Verdict != conformance.Fail {
					t.Errorf("%s/%s: verdict %s (%s), want fail", res.Group, res.Name, res.Verdict, res.Reason)
				} else if !strings.Contains(res.Reason, s.reason) {
					t.Errorf("%s/%s failed for another reason:\n got: %s\nwant: …%s…", res.Group, res.Name, res.Reason, s.reason)
				}
			}
			if n == 0 {
				t.Fatal("the sweep selects no check")
			}
		})
	}
}

// TestEveryCheckCanFail: a check that cannot fail is a defect, so every check
// the suite reports must be failed by a named breakage or a sweep. A new check
// without one fails here.
func TestEveryCheckCanFail(t *testing.T) {
	tg := fakeTarget(t)
	rep, err := conformance.Run(t.Context(), tg.serve(t, tg.inner))
	if err != nil {
		t.Fatal(err)
	}
	sw := sweeps()
	var blind []string
	for _, res := range rep.Results {
		full := res.Group + "/" + res.Name
		covered := slices.ContainsFunc(breakages, func(b breakage) bool { return strings.HasPrefix(full, b.check) }) ||
			slices.ContainsFunc(sw, func(s sweep) bool { return s.fails(res.Group, res.Name) })
		if !covered {
			blind = append(blind, full)
		}
	}
	if len(blind) > 0 {
		t.Errorf("%d checks have no breakage that makes them fail:\n%s", len(blind), strings.Join(blind, "\n"))
	}
}
