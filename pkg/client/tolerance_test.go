package client

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/interop-data/interop/gen/models"
)

// Ids of the fixtures.
const (
	districtID = "2a4a2e06-7755-43bb-9766-4f398079ef8c"
	lincolnID  = "8d4f0f4a-1c1b-4b7a-9a43-2f1d6b2c9e11"
	zoeID      = "6f1d2c3b-4a5e-4f60-8a7b-9c0d1e2f3a4b"
	teacherID  = "7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d"
	courseID   = "0a1b2c3d-4e5f-4061-8728-394a5b6c7d8e"
	sectionID  = "4b5c6d7e-8f90-41a2-b3c4-d5e6f7a8b9c0"
	termID     = "1c2d3e4f-5a6b-4c7d-8e9f-a0b1c2d3e4f5"
	semID      = "2d3e4f5a-6b7c-4d8e-9f0a-b1c2d3e4f5a6"
	memberID   = "3e4f5a6b-7c8d-4e9f-a0b1-c2d3e4f5a6b7"
	taskA      = "0b6b1f5e-2d0c-4c59-9d43-1f4e8a3d9c01"
	taskB      = "7d1c8f0a-52a3-4d8e-b6c6-3d2f9e4a1b02"
)

// wireCase is one documented variant of the vendor's wire beside the
// canonical body the contract describes: the client must hand the caller
// the same typed value for both, in every validation mode, and report
// nothing.
type wireCase struct {
	name      string
	method    string
	path      string // served path, relative to the base
	status    int
	variant   string
	canonical string
	call      func(ctx context.Context, c *Client) (any, error)
	check     func(t *testing.T, v any) // what a caller sees, asserted on the variant's value
	jsonEmpty bool                      // label an empty body application/json, as some gateways do
}

func list[T any](seq func(ctx context.Context, c *Client) func(func(T, error) bool)) func(ctx context.Context, c *Client) (any, error) {
	return func(ctx context.Context, c *Client) (any, error) { return Collect(seq(ctx, c)) }
}

var wireCases = []wireCase{
	{
		name: "flat references of orgs (2022 RefType)", method: "GET", path: "/rostering/schools", status: 200,
		variant: `{"data":[{"$sys":{"id":"` + lincolnID + `","org_type":"School","label":"Lincoln Elementary"},"name":"Lincoln Elementary",
			"$parent":{"id":"` + districtID + `","type":"Org","org_type":"LEA","label":"Kimono School District"},
			"$students":[{"id":"` + zoeID + `","type":"Person","person_type":"Student","label":"Zoë Núñez","$membership":{"id":"` + memberID + `","type":"PersonOrgMembership"}}]}],
			"paging":{"next":null}}`,
		canonical: `{"data":[{"$sys":{"id":"` + lincolnID + `","org_type":"School","label":"Lincoln Elementary"},"name":"Lincoln Elementary",
			"$parent":{"$sys":{"id":"` + districtID + `","type":"Org","org_type":"LEA","label":"Kimono School District"}},
			"$students":[{"$sys":{"id":"` + zoeID + `","type":"Person","person_type":"Student","label":"Zoë Núñez","$membership":{"id":"` + memberID + `","type":"PersonOrgMembership"}}}]}],
			"paging":{"next":null}}`,
		call: list(func(ctx context.Context, c *Client) func(func(models.Org, error) bool) { return c.Schools(ctx, nil) }),
		check: func(t *testing.T, v any) {
			o := v.([]models.Org)[0]
			if o.Parent.Sys.ID.String() != districtID || o.Parent.Sys.OrgType != "LEA" || o.Parent.Sys.Label != "Kimono School District" {
				t.Errorf("$parent = %+v", o.Parent)
			}
			if len(o.Students) != 1 || o.Students[0].Sys.ID.String() != zoeID || o.Students[0].Sys.Membership.ID.String() != memberID {
				t.Errorf("$students = %+v", o.Students)
			}
		},
	},
	{
		name: "flat references of a person", method: "GET", path: "/rostering/persons", status: 200,
		variant: `{"data":[{"$sys":{"id":"` + zoeID + `","person_type":"Student"},"name":{"first":"Zoë","last":"Núñez"},
			"$schools":[{"id":"` + lincolnID + `","type":"Org","org_type":"School","label":"Lincoln Elementary","$membership":{"id":"` + memberID + `","type":"PersonOrgMembership"}}],
			"$sections":[{"id":"` + sectionID + `","type":"Section","label":"Algebra I","$membership":{"id":"` + memberID + `"}}]}],"paging":{"next":null}}`,
		canonical: `{"data":[{"$sys":{"id":"` + zoeID + `","person_type":"Student"},"name":{"first":"Zoë","last":"Núñez"},
			"$schools":[{"$sys":{"id":"` + lincolnID + `","type":"Org","org_type":"School","label":"Lincoln Elementary","$membership":{"id":"` + memberID + `","type":"PersonOrgMembership"}}}],
			"$sections":[{"$sys":{"id":"` + sectionID + `","type":"Section","label":"Algebra I","$membership":{"id":"` + memberID + `"}}}]}],"paging":{"next":null}}`,
		call: list(func(ctx context.Context, c *Client) func(func(models.Person, error) bool) { return c.Persons(ctx, nil) }),
		check: func(t *testing.T, v any) {
			p := v.([]models.Person)[0]
			if p.Name.First != "Zoë" || len(p.Schools) != 1 || p.Schools[0].Sys.OrgType != "School" || p.Schools[0].Sys.ID.String() != lincolnID {
				t.Errorf("person = %+v", p)
			}
			if len(p.Sections) != 1 || p.Sections[0].Sys.Label != "Algebra I" {
				t.Errorf("$sections = %+v", p.Sections)
			}
		},
	},
	{
		name: "flat references of a section", method: "GET", path: "/rostering/sections", status: 200,
		variant: `{"data":[{"$sys":{"id":"` + sectionID + `"},"title":"Algebra I",
			"$course":{"id":"` + courseID + `","type":"Course","label":"Algebra I"},
			"$org":{"id":"` + lincolnID + `","type":"Org","org_type":"School"},
			"$terms":[{"id":"` + termID + `","type":"Term","term_type":"SchoolYear"}],
			"$teachers":[{"id":"` + teacherID + `","person_type":"Teacher","$membership":{"id":"` + memberID + `"}}]}],"paging":{"next":null}}`,
		canonical: `{"data":[{"$sys":{"id":"` + sectionID + `"},"title":"Algebra I",
			"$course":{"$sys":{"id":"` + courseID + `","type":"Course","label":"Algebra I"}},
			"$org":{"$sys":{"id":"` + lincolnID + `","type":"Org","org_type":"School"}},
			"$terms":[{"$sys":{"id":"` + termID + `","type":"Term","term_type":"SchoolYear"}}],
			"$teachers":[{"$sys":{"id":"` + teacherID + `","person_type":"Teacher","$membership":{"id":"` + memberID + `"}}}]}],"paging":{"next":null}}`,
		call: list(func(ctx context.Context, c *Client) func(func(models.Section, error) bool) {
			return c.Sections(ctx, nil)
		}),
		check: func(t *testing.T, v any) {
			s := v.([]models.Section)[0]
			if s.Course.Sys.ID.String() != courseID || s.Org.Sys.ID.String() != lincolnID || s.Terms[0].Sys.TermType != "SchoolYear" || s.Teachers[0].Sys.PersonType != "Teacher" {
				t.Errorf("section = %+v", s)
			}
		},
	},
	{
		name: "flat references of terms and courses", method: "GET", path: "/rostering/terms", status: 200,
		variant:   `{"data":[{"$sys":{"id":"` + semID + `","term_type":"Semester"},"$parent":{"id":"` + termID + `","term_type":"SchoolYear"},"$children":[]}],"paging":{"next":null}}`,
		canonical: `{"data":[{"$sys":{"id":"` + semID + `","term_type":"Semester"},"$parent":{"$sys":{"id":"` + termID + `","term_type":"SchoolYear"}},"$children":[]}],"paging":{"next":null}}`,
		call:      list(func(ctx context.Context, c *Client) func(func(models.Term, error) bool) { return c.Terms(ctx, nil) }),
		check: func(t *testing.T, v any) {
			if p := v.([]models.Term)[0].Parent; p.Sys.ID.String() != termID || p.Sys.TermType != "SchoolYear" {
				t.Errorf("$parent = %+v", p)
			}
		},
	},
	{
		name: "flat references of a course", method: "GET", path: "/rostering/courses", status: 200,
		variant:   `{"data":[{"$sys":{"id":"` + courseID + `"},"$orgs":[{"id":"` + lincolnID + `","org_type":"School"}],"$sections":[{"id":"` + sectionID + `"}]}],"paging":{"next":null}}`,
		canonical: `{"data":[{"$sys":{"id":"` + courseID + `"},"$orgs":[{"$sys":{"id":"` + lincolnID + `","org_type":"School"}}],"$sections":[{"$sys":{"id":"` + sectionID + `"}}]}],"paging":{"next":null}}`,
		call:      list(func(ctx context.Context, c *Client) func(func(models.Course, error) bool) { return c.Courses(ctx, nil) }),
		check: func(t *testing.T, v any) {
			co := v.([]models.Course)[0]
			if co.Orgs[0].Sys.ID.String() != lincolnID || co.Sections[0].Sys.ID.String() != sectionID {
				t.Errorf("course = %+v", co)
			}
		},
	},
	{
		name: "bare findOrg: the 2022 file's own Org example", method: "GET", path: "/rostering/orgs/" + districtID, status: 200,
		variant:   `{"id":"` + districtID + `","name":"Kimono School District"}`,
		canonical: `{"data":{"id":"` + districtID + `","name":"Kimono School District"}}`,
		call: func(ctx context.Context, c *Client) (any, error) {
			return c.FindOrg(ctx, uuid.MustParse(districtID))
		},
		check: func(t *testing.T, v any) {
			if o := v.(*models.Org); o.ID.String() != districtID || o.Name != "Kimono School District" {
				t.Errorf("org = %+v", o)
			}
		},
	},
	{
		name: "bare findLEA", method: "GET", path: "/rostering/leas/" + districtID, status: 200,
		variant:   `{"$sys":{"id":"` + districtID + `","org_type":"LEA"},"name":"Kimono School District","$children":[{"id":"` + lincolnID + `","org_type":"School"}]}`,
		canonical: `{"data":{"$sys":{"id":"` + districtID + `","org_type":"LEA"},"name":"Kimono School District","$children":[{"$sys":{"id":"` + lincolnID + `","org_type":"School"}}]}}`,
		call: func(ctx context.Context, c *Client) (any, error) {
			return c.FindLEA(ctx, uuid.MustParse(districtID))
		},
		check: func(t *testing.T, v any) {
			if o := v.(*models.Org); o.Sys.OrgType != "LEA" || o.Children[0].Sys.ID.String() != lincolnID {
				t.Errorf("lea = %+v", o)
			}
		},
	},
	{
		name: "bare findPerson", method: "GET", path: "/rostering/persons/" + zoeID, status: 200,
		variant:   `{"$sys":{"id":"` + zoeID + `","person_type":"Student"},"name":{"first":"Zoë"}}`,
		canonical: `{"data":{"$sys":{"id":"` + zoeID + `","person_type":"Student"},"name":{"first":"Zoë"}}}`,
		call: func(ctx context.Context, c *Client) (any, error) {
			return c.FindPerson(ctx, uuid.MustParse(zoeID))
		},
		check: func(t *testing.T, v any) {
			if p := v.(*models.Person); p.Name.First != "Zoë" || p.Sys.ID.String() != zoeID {
				t.Errorf("person = %+v", p)
			}
		},
	},
	{
		name: "bare findCourse", method: "GET", path: "/rostering/courses/" + courseID, status: 200,
		variant:   `{"$sys":{"id":"` + courseID + `"},"title":"Algebra I"}`,
		canonical: `{"data":{"$sys":{"id":"` + courseID + `"},"title":"Algebra I"}}`,
		call: func(ctx context.Context, c *Client) (any, error) {
			return c.FindCourse(ctx, uuid.MustParse(courseID))
		},
		check: func(t *testing.T, v any) {
			if co := v.(*models.Course); co.Title != "Algebra I" {
				t.Errorf("course = %+v", co)
			}
		},
	},
	{
		name: "bare findSection", method: "GET", path: "/rostering/sections/" + sectionID, status: 200,
		variant:   `{"$sys":{"id":"` + sectionID + `"},"title":"Algebra I - Period 1","$course":{"id":"` + courseID + `"}}`,
		canonical: `{"data":{"$sys":{"id":"` + sectionID + `"},"title":"Algebra I - Period 1","$course":{"$sys":{"id":"` + courseID + `"}}}}`,
		call: func(ctx context.Context, c *Client) (any, error) {
			return c.FindSection(ctx, uuid.MustParse(sectionID))
		},
		check: func(t *testing.T, v any) {
			if s := v.(*models.Section); s.Title != "Algebra I - Period 1" || s.Course.Sys.ID.String() != courseID {
				t.Errorf("section = %+v", s)
			}
		},
	},
	{
		name: "bare findTerm", method: "GET", path: "/rostering/terms/" + termID, status: 200,
		variant:   `{"$sys":{"id":"` + termID + `","term_type":"SchoolYear"},"name":"2025-2026"}`,
		canonical: `{"data":{"$sys":{"id":"` + termID + `","term_type":"SchoolYear"},"name":"2025-2026"}}`,
		call: func(ctx context.Context, c *Client) (any, error) {
			return c.FindTerm(ctx, uuid.MustParse(termID))
		},
		check: func(t *testing.T, v any) {
			if tm := v.(*models.Term); tm.Name != "2025-2026" || tm.Sys.TermType != "SchoolYear" {
				t.Errorf("term = %+v", tm)
			}
		},
	},
	{
		name: "paging absent", method: "GET", path: "/rostering/students", status: 200,
		variant:   `{"data":[{"$sys":{"id":"` + zoeID + `","person_type":"Student"}}]}`,
		canonical: `{"data":[{"$sys":{"id":"` + zoeID + `","person_type":"Student"}}],"paging":{"next":null}}`,
		call: list(func(ctx context.Context, c *Client) func(func(models.Person, error) bool) {
			return c.Students(ctx, nil)
		}),
		check: onePerson,
	},
	{
		name: "next absent", method: "GET", path: "/rostering/students", status: 200,
		variant:   `{"data":[{"$sys":{"id":"` + zoeID + `","person_type":"Student"}}],"paging":{}}`,
		canonical: `{"data":[{"$sys":{"id":"` + zoeID + `","person_type":"Student"}}],"paging":{"next":null}}`,
		call: list(func(ctx context.Context, c *Client) func(func(models.Person, error) bool) {
			return c.Students(ctx, nil)
		}),
		check: onePerson,
	},
	{
		name: "next empty", method: "GET", path: "/rostering/students", status: 200,
		variant:   `{"data":[{"$sys":{"id":"` + zoeID + `","person_type":"Student"}}],"paging":{"next":""}}`,
		canonical: `{"data":[{"$sys":{"id":"` + zoeID + `","person_type":"Student"}}],"paging":{"next":null}}`,
		call: list(func(ctx context.Context, c *Client) func(func(models.Person, error) bool) {
			return c.Students(ctx, nil)
		}),
		check: onePerson,
	},
	{
		name: "unknown fields everywhere", method: "GET", path: "/rostering/students", status: 200,
		variant:   `{"data":[{"$sys":{"id":"` + zoeID + `","person_type":"Student","shard":7},"pronouns":"they"}],"paging":{"next":null,"total":1},"took_ms":3}`,
		canonical: `{"data":[{"$sys":{"id":"` + zoeID + `","person_type":"Student"}}],"paging":{"next":null}}`,
		call: list(func(ctx context.Context, c *Client) func(func(models.Person, error) bool) {
			return c.Students(ctx, nil)
		}),
		check: onePerson,
	},
	{
		name: "empty acknowledgeTask answer (2022)", method: "PUT", path: "/tasks/" + taskA + "/ack", status: 200,
		variant:   ``,
		canonical: `{"data":{"task_id":"` + taskA + `","status":"success","acknowledged_at":"2026-11-30T08:00:00Z"}}`,
		call: func(ctx context.Context, c *Client) (any, error) {
			return c.AcknowledgeTask(ctx, uuid.MustParse(taskA), models.TaskAck{Status: models.Success})
		},
		check: func(t *testing.T, v any) {
			if r := v.(*models.TaskAckReceipt); r.TaskID.String() != taskA || r.Status != models.Success || !r.AcknowledgedAt.Equal(ackDate) {
				t.Errorf("receipt = %+v", r)
			}
		},
	},
	{
		name: "empty acknowledgeTask answer labelled JSON", method: "PUT", path: "/tasks/" + taskA + "/ack", status: 200, jsonEmpty: true,
		variant:   ``,
		canonical: `{"data":{"task_id":"` + taskA + `","status":"error","acknowledged_at":"2026-11-30T08:00:00Z"}}`,
		call: func(ctx context.Context, c *Client) (any, error) {
			return c.AcknowledgeTask(ctx, uuid.MustParse(taskA), models.TaskAck{Status: models.Error, Message: "bad row"})
		},
		check: func(t *testing.T, v any) {
			if r := v.(*models.TaskAckReceipt); r.TaskID.String() != taskA || r.Status != models.Error {
				t.Errorf("receipt = %+v", r)
			}
		},
	},
	{
		name: "204 to acknowledgeAdminTask", method: "PUT", path: "/tasks/admin/" + taskA + "/ack", status: 204,
		variant:   ``,
		canonical: `{"data":{"task_id":"` + taskA + `","status":"retry","acknowledged_at":"2026-11-30T08:00:00Z"}}`,
		call: func(ctx context.Context, c *Client) (any, error) {
			return c.AcknowledgeAdminTask(ctx, uuid.MustParse(taskA), models.TaskAck{Status: models.Retry})
		},
		check: func(t *testing.T, v any) {
			if r := v.(*models.TaskAckReceipt); r.TaskID.String() != taskA || r.Status != models.Retry {
				t.Errorf("receipt = %+v", r)
			}
		},
	},
	{
		name: "empty acknowledgeTasks answer (2022)", method: "PUT", path: "/tasks/ack", status: 200,
		variant: ``,
		canonical: `{"data":[{"task_id":"` + taskA + `","status":"success","acknowledged_at":"2026-11-30T08:00:00Z"},` +
			`{"task_id":"` + taskB + `","status":"error","acknowledged_at":"2026-11-30T08:00:00Z"}]}`,
		call: func(ctx context.Context, c *Client) (any, error) {
			return c.AcknowledgeTasks(ctx, []models.TaskAckGroupItem{
				{TaskID: uuid.MustParse(taskA), Status: models.Success}, {TaskID: uuid.MustParse(taskB), Status: models.Error, Message: "bad row"}})
		},
		check: func(t *testing.T, v any) {
			rs := v.([]models.TaskAckReceipt)
			if len(rs) != 2 || rs[1].TaskID.String() != taskB || rs[1].Status != models.Error {
				t.Errorf("receipts = %+v", rs)
			}
		},
	},
	{
		name: "unknown receipt status", method: "PUT", path: "/tasks/" + taskA + "/ack", status: 200,
		variant:   `{"data":{"task_id":"` + taskA + `","status":"deferred","acknowledged_at":"2026-11-30T08:00:00Z"}}`,
		canonical: `{"data":{"task_id":"` + taskA + `","status":"deferred","acknowledged_at":"2026-11-30T08:00:00Z"}}`,
		call: func(ctx context.Context, c *Client) (any, error) {
			return c.AcknowledgeTask(ctx, uuid.MustParse(taskA), models.TaskAck{Status: models.Success})
		},
		check: func(t *testing.T, v any) {
			if r := v.(*models.TaskAckReceipt); r.Status != "deferred" || r.Status.Valid() {
				t.Errorf("receipt = %+v", r)
			}
		},
	},
	{
		name: "next null on the task queue", method: "GET", path: "/tasks/admin", status: 200,
		variant:   `{"data":[{"lifecycle_event":{"id":"` + taskA + `","tenant_id":"` + districtID + `","sequence":1,"created_at":"2025-11-16T12:17:04.959Z","action":"TENANT_INSTALLED"}}]}`,
		canonical: `{"data":[{"lifecycle_event":{"id":"` + taskA + `","tenant_id":"` + districtID + `","sequence":1,"created_at":"2025-11-16T12:17:04.959Z","action":"TENANT_INSTALLED"}}],"paging":{"next":null}}`,
		call: func(ctx context.Context, c *Client) (any, error) {
			ts, err := Collect(c.AdminTasks(ctx, nil))
			for _, t := range ts {
				t.Raw = nil // the bytes differ by design
			}
			return ts, err
		},
		check: func(t *testing.T, v any) {
			ts := v.([]*Task)
			if len(ts) != 1 || ts[0].Kind != KindLifecycle || ts[0].ID.String() != taskA || ts[0].LifecycleEvent.Action != "TENANT_INSTALLED" {
				t.Errorf("tasks = %+v", ts)
			}
		},
	},
}

// ackDate is the Date header of the fixtures' answers: a receipt made for an
// empty acknowledgement answer carries it.
var ackDate = time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)

func onePerson(t *testing.T, v any) {
	ps := v.([]models.Person)
	if len(ps) != 1 || ps[0].Sys.ID.String() != zoeID || ps[0].Sys.PersonType != "Student" {
		t.Errorf("persons = %+v", ps)
	}
}

// serveWire answers every request of c.method c.path with body.
func serveWire(t *testing.T, c wireCase, body string, opts ...Option) (*Client, func() []*ValidationError) {
	t.Helper()
	f := newFakeAPI(t)
	f.handle(c.method, c.path, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Date", ackDate.Format(http.TimeFormat))
		if body != "" || c.jsonEmpty {
			w.Header().Set("Content-Type", "application/json")
		}
		w.WriteHeader(c.status)
		_, _ = w.Write([]byte(body))
	})
	var mu sync.Mutex
	var reports []*ValidationError
	all := append([]Option{WithValidationReporter(func(e *ValidationError) {
		mu.Lock()
		reports = append(reports, e)
		mu.Unlock()
	})}, opts...)
	return f.client(t, nil, all...), func() []*ValidationError {
		mu.Lock()
		defer mu.Unlock()
		return append([]*ValidationError(nil), reports...)
	}
}

func TestWireVariantsDecodeLikeTheCanonicalShape(t *testing.T) {
	modes := map[string]ValidationMode{"off": ValidationOff, "report": ValidationReport, "enforce": ValidationEnforce}
	for _, wc := range wireCases {
		for mname, mode := range modes {
			t.Run(wc.name+"/"+mname, func(t *testing.T) {
				ctx := context.Background()
				got := map[string]any{}
				for _, which := range []string{"variant", "canonical"} {
					body := wc.variant
					if which == "canonical" {
						body = wc.canonical
					}
					c, reports := serveWire(t, wc, body, WithValidation(mode))
					v, err := wc.call(ctx, c)
					if err != nil {
						t.Fatalf("%s: %v", which, err)
					}
					if rs := reports(); len(rs) > 0 {
						t.Fatalf("%s: a documented variant was reported as a violation: %v", which, rs[0])
					}
					got[which] = v
				}
				if !reflect.DeepEqual(got["variant"], got["canonical"]) {
					t.Fatalf("the variant decodes differently:\nvariant   %+v\ncanonical %+v", got["variant"], got["canonical"])
				}
				wc.check(t, got["variant"])
			})
		}
	}
}

// What is not a documented variant still breaks the contract.
func TestUndocumentedShapesStillViolate(t *testing.T) {
	cases := []wireCase{
		{name: "a person without $sys", method: "GET", path: "/rostering/students", status: 200,
			variant: `{"data":[{"name":{"first":"Zoë"}}],"paging":{"next":null}}`,
			call: list(func(ctx context.Context, c *Client) func(func(models.Person, error) bool) {
				return c.Students(ctx, nil)
			})},
		{name: "data that is not an object", method: "GET", path: "/rostering/persons/" + zoeID, status: 200,
			variant: `{"data":"Zoë"}`,
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.FindPerson(ctx, uuid.MustParse(zoeID))
			}},
		{name: "a reference that is a string", method: "GET", path: "/rostering/sections", status: 200,
			variant: `{"data":[{"$sys":{"id":"` + sectionID + `"},"$course":"` + courseID + `"}],"paging":{"next":null}}`,
			call: list(func(ctx context.Context, c *Client) func(func(models.Section, error) bool) {
				return c.Sections(ctx, nil)
			})},
		{name: "a next link that is a number", method: "GET", path: "/rostering/students", status: 200,
			variant: `{"data":[],"paging":{"next":7}}`,
			call: list(func(ctx context.Context, c *Client) func(func(models.Person, error) bool) {
				return c.Students(ctx, nil)
			})},
		{name: "paging that is a string", method: "GET", path: "/rostering/students", status: 200,
			variant: `{"data":[],"paging":"last"}`,
			call: list(func(ctx context.Context, c *Client) func(func(models.Person, error) bool) {
				return c.Students(ctx, nil)
			})},
		{name: "a receipt without a task id", method: "PUT", path: "/tasks/" + taskA + "/ack", status: 200,
			variant: `{"data":{"status":"success","acknowledged_at":"2026-11-30T08:00:00Z"}}`,
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.AcknowledgeTask(ctx, uuid.MustParse(taskA), models.TaskAck{Status: models.Success})
			}},
	}
	for _, wc := range cases {
		t.Run(wc.name, func(t *testing.T) {
			c, reports := serveWire(t, wc, wc.variant, WithValidation(ValidationEnforce))
			_, err := wc.call(context.Background(), c)
			var ve *ValidationError
			if !errors.As(err, &ve) || !errors.Is(err, ErrContractViolation) {
				t.Fatalf("err = %v, want a contract violation", err)
			}
			if len(reports()) == 0 {
				t.Fatal("the violation was not reported")
			}
		})
	}
}

func TestOperationOf(t *testing.T) {
	for rel, want := range map[string]string{
		"/rostering/orgs":                          "listOrgs",
		"/rostering/orgs/" + districtID:            "findOrg",
		"/rostering/orgs/" + districtID + "/terms": "listTermsForOrg",
		"/tasks/admin/ack":                         "acknowledgeAdminTasks",
		"/tasks/admin/" + taskA:                    "findAdminTask",
		"/tasks/admin/" + taskA + "/ack":           "acknowledgeAdminTask",
		"/rostering/orgs//terms":                   "",
		"/rostering/orgs/x/y/terms":                "",
		"/nope":                                    "",
	} {
		method := "GET"
		if want == "acknowledgeAdminTasks" || want == "acknowledgeAdminTask" {
			method = "PUT"
		}
		got := ""
		if op := operationOf(method, rel); op != nil {
			got = op.id
		}
		if got != want {
			t.Errorf("operationOf(%s %s) = %q, want %q", method, rel, got, want)
		}
	}
}
