// Command ogen-walk walks a running server with a client that ogen
// generates from api/openapi.yaml (into ./oas, not checked in), as a team
// outside this toolkit would: every operation of the contract, the roster
// by page and by id, the task queue leased and acknowledged one by one, in
// groups and through the admin API. A disagreement is a call ogen's client
// could not send, decode or validate, or that did not answer the success it
// was made for. It prints one line per disagreement and the totals, and
// exits 1 when there is any.
//
// It is its own module so that ogen and its runtime stay out of the
// toolkit's go.mod; make check-generators generates ./oas and runs it
// against the reference server.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/ogen-go/ogen/ogenerrors"

	"github.com/interop-data/interop/internal/othergen/ogen/oas"
)

func main() {
	base := flag.String("base-url", "http://127.0.0.1:8080/v2/interop/data", "the API's base URL")
	tokenURL := flag.String("token-url", "", "the token endpoint (default: /oauth/token on the base URL's host)")
	id := flag.String("client-id", "demo", "OAuth2 client id")
	secret := flag.String("client-secret", "demo-secret", "OAuth2 client secret")
	maxFinds := flag.Int("max-finds", 200, "objects found by id per list")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	w, err := newWalker(ctx, *base, *tokenURL, *id, *secret)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ogen-walk:", err)
		os.Exit(2)
	}
	w.maxFinds = *maxFinds
	w.walk(ctx)
	fmt.Printf("ogen-walk: %d calls of %d operations, %d disagreements\n", w.calls, len(w.ops), len(w.disagreements))
	if len(w.disagreements) > 0 || len(w.ops) < 29 {
		if len(w.ops) < 29 {
			fmt.Printf("ogen-walk: only %d of the 29 operations were called\n", len(w.ops))
		}
		os.Exit(1)
	}
}

type walker struct {
	c             *oas.Client
	calls         int
	ops           map[string]bool
	disagreements []string
	maxFinds      int
}

// bearer is the SecuritySource: the OAuth2 token, and no LTI JWT.
type bearer string

func (b bearer) Actor(context.Context, oas.OperationName) (oas.Actor, error) {
	return oas.Actor{Token: string(b)}, nil
}

func (bearer) LtiJwt(context.Context, oas.OperationName) (oas.LtiJwt, error) {
	return oas.LtiJwt{}, ogenerrors.ErrSkipClientSecurity
}

func newWalker(ctx context.Context, base, tokenURL, id, secret string) (*walker, error) {
	if tokenURL == "" {
		u, err := url.Parse(base)
		if err != nil {
			return nil, err
		}
		tokenURL = u.Scheme + "://" + u.Host + "/oauth/token"
	}
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || tok.AccessToken == "" {
		return nil, fmt.Errorf("token endpoint %s: %s %v", tokenURL, resp.Status, err)
	}
	c, err := oas.NewClient(base, bearer(tok.AccessToken))
	if err != nil {
		return nil, err
	}
	return &walker{c: c, ops: map[string]bool{}}, nil
}

// call makes one call and reports whether it answered the success OK.
func call[OK any, R any](w *walker, op string, f func() (R, error)) (OK, bool) {
	w.calls++
	w.ops[op] = true
	var zero OK
	res, err := f()
	if err != nil {
		w.disagree(op, err.Error())
		return zero, false
	}
	ok, is := any(res).(OK)
	if !is {
		b, _ := json.Marshal(res)
		w.disagree(op, fmt.Sprintf("answered %T %s, want %T", res, b, zero))
	}
	return ok, is
}

func (w *walker) disagree(op, what string) {
	line := op + ": " + what
	if len(w.disagreements) < 50 {
		fmt.Println("disagreement:", line)
	}
	w.disagreements = append(w.disagreements, line)
}

// jsonValue is what every generated type can do.
type jsonValue interface{ MarshalJSON() ([]byte, error) }

// idOf is an object's $sys.id, or a task's id (in its payload under schema
// 2.x), read back from its JSON so that one function serves every type.
func idOf(v jsonValue) uuid.UUID {
	b, err := v.MarshalJSON()
	if err != nil {
		return uuid.Nil
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(b, &m) != nil {
		return uuid.Nil
	}
	var sys struct {
		ID uuid.UUID `json:"id"`
	}
	if raw, ok := m["$sys"]; ok && json.Unmarshal(raw, &sys) == nil && sys.ID != uuid.Nil {
		return sys.ID
	}
	for _, k := range []string{"lifecycle_event", "sync_event", "data_event", "authenticate", "grades_query"} {
		if raw, ok := m[k]; ok && json.Unmarshal(raw, &sys) == nil {
			return sys.ID
		}
	}
	return uuid.Nil
}

func ids[T any, P interface {
	*T
	jsonValue
}](objs []T, n int) []uuid.UUID {
	var out []uuid.UUID
	for i := range objs {
		if len(out) == n {
			break
		}
		if id := idOf(P(&objs[i])); id != uuid.Nil {
			out = append(out, id)
		}
	}
	return out
}

func page(n int32) oas.OptInt32 { return oas.NewOptInt32(n) }

// pages walks a list by page number until a short page, up to limit pages.
func pages[T any](w *walker, op string, list func(p int32) ([]T, bool)) []T {
	var all []T
	for p := int32(0); p < 50; p++ {
		data, ok := list(p)
		if !ok {
			break
		}
		all = append(all, data...)
		if len(data) < 100 {
			break
		}
	}
	return all
}

func (w *walker) walk(ctx context.Context) {
	c := w.c
	// The roster, list by list, each object found by id.
	orgs := pages(w, "listOrgs", func(p int32) ([]oas.Org, bool) {
		r, ok := call[*oas.OrgsResponse](w, "listOrgs", func() (oas.ListOrgsRes, error) {
			return c.ListOrgs(ctx, oas.ListOrgsParams{Page: page(p), PageSize: page(100)})
		})
		return dataOf(r, ok, func(r *oas.OrgsResponse) []oas.Org { return r.Data })
	})
	for _, id := range ids(orgs, w.maxFinds) {
		call[*oas.OrgResponse](w, "findOrg", func() (oas.FindOrgRes, error) { return c.FindOrg(ctx, oas.FindOrgParams{ID: id}) })
	}
	leas, _ := call[*oas.OrgsResponse](w, "listLEAs", func() (oas.ListLEAsRes, error) { return c.ListLEAs(ctx, oas.ListLEAsParams{}) })
	if leas != nil {
		for _, id := range ids(leas.Data, w.maxFinds) {
			call[*oas.OrgResponse](w, "findLEA", func() (oas.FindLEARes, error) { return c.FindLEA(ctx, oas.FindLEAParams{ID: id}) })
		}
	}
	schools, _ := call[*oas.OrgsResponse](w, "listSchools", func() (oas.ListSchoolsRes, error) { return c.ListSchools(ctx, oas.ListSchoolsParams{}) })
	persons := pages(w, "listPersons", func(p int32) ([]oas.Person, bool) {
		r, ok := call[*oas.PersonsResponse](w, "listPersons", func() (oas.ListPersonsRes, error) {
			return c.ListPersons(ctx, oas.ListPersonsParams{Page: page(p), PageSize: page(100)})
		})
		return dataOf(r, ok, func(r *oas.PersonsResponse) []oas.Person { return r.Data })
	})
	for _, id := range ids(persons, w.maxFinds) {
		call[*oas.PersonResponse](w, "findPerson", func() (oas.FindPersonRes, error) { return c.FindPerson(ctx, oas.FindPersonParams{ID: id}) })
	}
	call[*oas.PersonsResponse](w, "listStudents", func() (oas.ListStudentsRes, error) { return c.ListStudents(ctx, oas.ListStudentsParams{}) })
	call[*oas.PersonsResponse](w, "listTeachers", func() (oas.ListTeachersRes, error) { return c.ListTeachers(ctx, oas.ListTeachersParams{}) })
	if courses, ok := call[*oas.CoursesResponse](w, "listCourses", func() (oas.ListCoursesRes, error) { return c.ListCourses(ctx, oas.ListCoursesParams{}) }); ok {
		for _, id := range ids(courses.Data, w.maxFinds) {
			call[*oas.CourseResponse](w, "findCourse", func() (oas.FindCourseRes, error) { return c.FindCourse(ctx, oas.FindCourseParams{ID: id}) })
		}
	}
	if sections, ok := call[*oas.SectionsResponse](w, "listSections", func() (oas.ListSectionsRes, error) { return c.ListSections(ctx, oas.ListSectionsParams{}) }); ok {
		for _, id := range ids(sections.Data, w.maxFinds) {
			call[*oas.SectionResponse](w, "findSection", func() (oas.FindSectionRes, error) { return c.FindSection(ctx, oas.FindSectionParams{ID: id}) })
		}
	}
	if terms, ok := call[*oas.TermsResponse](w, "listTerms", func() (oas.ListTermsRes, error) { return c.ListTerms(ctx, oas.ListTermsParams{}) }); ok {
		for _, id := range ids(terms.Data, w.maxFinds) {
			call[*oas.TermResponse](w, "findTerm", func() (oas.FindTermRes, error) { return c.FindTerm(ctx, oas.FindTermParams{ID: id}) })
		}
	}
	call[*oas.GradingCategoriesResponse](w, "listGradingCategories", func() (oas.ListGradingCategoriesRes, error) {
		return c.ListGradingCategories(ctx, oas.ListGradingCategoriesParams{})
	})
	// Every list under an org, for every school.
	if schools != nil {
		for _, id := range ids(schools.Data, w.maxFinds) {
			call[*oas.PersonsResponse](w, "listStudentsForOrg", func() (oas.ListStudentsForOrgRes, error) {
				return c.ListStudentsForOrg(ctx, oas.ListStudentsForOrgParams{ID: id})
			})
			call[*oas.PersonsResponse](w, "listTeachersForOrg", func() (oas.ListTeachersForOrgRes, error) {
				return c.ListTeachersForOrg(ctx, oas.ListTeachersForOrgParams{ID: id})
			})
			call[*oas.CoursesResponse](w, "listCoursesForOrg", func() (oas.ListCoursesForOrgRes, error) {
				return c.ListCoursesForOrg(ctx, oas.ListCoursesForOrgParams{ID: id})
			})
			call[*oas.SectionsResponse](w, "listSectionsForOrg", func() (oas.ListSectionsForOrgRes, error) {
				return c.ListSectionsForOrg(ctx, oas.ListSectionsForOrgParams{ID: id})
			})
			call[*oas.TermsResponse](w, "listTermsForOrg", func() (oas.ListTermsForOrgRes, error) {
				return c.ListTermsForOrg(ctx, oas.ListTermsForOrgParams{ID: id})
			})
		}
	}
	w.tasks(ctx)
}

func dataOf[R any, T any](r R, ok bool, data func(R) []T) ([]T, bool) {
	if !ok {
		return nil, false
	}
	return data(r), true
}

// tasks leases and acknowledges: one by one, in a group (the shape
// openapi-typescript could not type before TaskAckGroupItem declared
// task_id), and through the admin API; in both task schemas.
func (w *walker) tasks(ctx context.Context) {
	c := w.c
	admin, ok := call[*oas.TasksResponse](w, "listAdminTasks", func() (oas.ListAdminTasksRes, error) {
		return c.ListAdminTasks(ctx, oas.ListAdminTasksParams{PageSize: page(10)})
	})
	call[*oas.TasksResponse](w, "listAdminTasks", func() (oas.ListAdminTasksRes, error) {
		return c.ListAdminTasks(ctx, oas.ListAdminTasksParams{PageSize: page(10), Schema: oas.NewOptString("3.0.0")})
	})
	if ok {
		if queued := ids(admin.Data, 1); len(queued) == 1 {
			call[*oas.TaskResponse](w, "findAdminTask", func() (oas.FindAdminTaskRes, error) {
				return c.FindAdminTask(ctx, oas.FindAdminTaskParams{ID: queued[0]})
			})
		}
	}
	leased, ok := call[*oas.TasksResponse](w, "listTasks", func() (oas.ListTasksRes, error) {
		return c.ListTasks(ctx, oas.ListTasksParams{PageSize: page(8)})
	})
	if !ok {
		return
	}
	got := ids(leased.Data, 8)
	if len(got) < 6 {
		w.disagree("listTasks", fmt.Sprintf("leased %d tasks; the walk needs 6 (serve --demo queues a sync)", len(got)))
		return
	}
	call[*oas.TaskAckReceiptResponse](w, "acknowledgeTask", func() (oas.AcknowledgeTaskRes, error) {
		return c.AcknowledgeTask(ctx, &oas.TaskAck{Status: oas.TaskAckStatusSuccess, Message: oas.NewOptString("ogen-walk")}, oas.AcknowledgeTaskParams{ID: got[0]})
	})
	call[*oas.TaskAckReceiptsResponse](w, "acknowledgeTasks", func() (oas.AcknowledgeTasksRes, error) {
		return c.AcknowledgeTasks(ctx, oas.TaskAckGroup{
			{TaskID: got[1], Status: oas.TaskAckStatusSuccess},
			{TaskID: got[2], Status: oas.TaskAckStatusRetry, Message: oas.NewOptString("ogen-walk: again")},
		})
	})
	call[*oas.TaskAckReceiptResponse](w, "acknowledgeAdminTask", func() (oas.AcknowledgeAdminTaskRes, error) {
		return c.AcknowledgeAdminTask(ctx, &oas.TaskAck{Status: oas.TaskAckStatusSuccess}, oas.AcknowledgeAdminTaskParams{ID: got[3]})
	})
	call[*oas.TaskAckReceiptsResponse](w, "acknowledgeAdminTasks", func() (oas.AcknowledgeAdminTasksRes, error) {
		return c.AcknowledgeAdminTasks(ctx, oas.TaskAckGroup{{TaskID: got[4], Status: oas.TaskAckStatusSuccess}})
	})
	call[*oas.TaskResponse](w, "deleteAdminTask", func() (oas.DeleteAdminTaskRes, error) {
		return c.DeleteAdminTask(ctx, oas.DeleteAdminTaskParams{ID: got[5]})
	})
	// An unknown id is the contract's 404, which ogen decodes as such.
	if _, err := c.FindAdminTask(ctx, oas.FindAdminTaskParams{ID: uuid.New()}); err != nil && !errors.Is(err, context.Canceled) {
		w.disagree("findAdminTask", "an unknown id: "+err.Error())
	}
}
