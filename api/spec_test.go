package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/interop-data/interop/api"
	"github.com/interop-data/interop/gen/models"
	"github.com/interop-data/interop/gen/spec"
)

func loadSpec(t *testing.T) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(api.Spec)
	if err != nil {
		t.Fatalf("load api/openapi.yaml: %v", err)
	}
	return doc
}

func TestSpecIsOpenAPI303AndValidWithExamples(t *testing.T) {
	doc := loadSpec(t)
	if doc.OpenAPI != "3.0.3" {
		t.Fatalf("openapi = %q, want 3.0.3", doc.OpenAPI)
	}
	// Examples validation is on by default; make it explicit so a future
	// kin-openapi default cannot silently switch it off.
	if err := doc.Validate(context.Background(), openapi3.EnableExamplesValidation(), openapi3.EnableSchemaFormatValidation()); err != nil {
		t.Fatalf("spec does not validate: %v", err)
	}
}

// The validation above must be able to fail: a broken example is caught.
func TestSpecValidationCatchesABadExample(t *testing.T) {
	doc := loadSpec(t)
	resp := doc.Components.Responses["TermFound"].Value.Content["application/json"]
	resp.Example = map[string]any{"data": map[string]any{"start_date": 17}}
	if err := doc.Validate(context.Background(), openapi3.EnableExamplesValidation()); err == nil {
		t.Fatal("a response example with a number for a date validated")
	}
}

type op struct{ method, path, id string }

// The 29 operations of the reference's §2.1, relative to the base path.
var documented = []op{
	{"GET", "/rostering/orgs", "listOrgs"},
	{"GET", "/tasks", "listTasks"},
	{"PUT", "/tasks/{id}/ack", "acknowledgeTask"},
	{"PUT", "/tasks/ack", "acknowledgeTasks"},
	{"GET", "/tasks/admin", "listAdminTasks"},
	{"PUT", "/tasks/admin/{id}/ack", "acknowledgeAdminTask"},
	{"PUT", "/tasks/admin/ack", "acknowledgeAdminTasks"},
	{"GET", "/tasks/admin/{id}", "findAdminTask"},
	{"DELETE", "/tasks/admin/{id}", "deleteAdminTask"},
	{"GET", "/rostering/leas", "listLEAs"},
	{"GET", "/rostering/schools", "listSchools"},
	{"GET", "/rostering/orgs/{id}", "findOrg"},
	{"GET", "/rostering/orgs/{id}/students", "listStudentsForOrg"},
	{"GET", "/rostering/orgs/{id}/teachers", "listTeachersForOrg"},
	{"GET", "/rostering/orgs/{id}/courses", "listCoursesForOrg"},
	{"GET", "/rostering/orgs/{id}/sections", "listSectionsForOrg"},
	{"GET", "/rostering/orgs/{id}/terms", "listTermsForOrg"},
	{"GET", "/rostering/leas/{id}", "findLEA"},
	{"GET", "/rostering/persons", "listPersons"},
	{"GET", "/rostering/students", "listStudents"},
	{"GET", "/rostering/teachers", "listTeachers"},
	{"GET", "/rostering/persons/{id}", "findPerson"},
	{"GET", "/rostering/courses", "listCourses"},
	{"GET", "/rostering/courses/{id}", "findCourse"},
	{"GET", "/rostering/sections", "listSections"},
	{"GET", "/rostering/sections/{id}", "findSection"},
	{"GET", "/rostering/terms", "listTerms"},
	{"GET", "/rostering/terms/{id}", "findTerm"},
	{"GET", "/grades/gradingCategories", "listGradingCategories"},
}

// aliases are the 2022 paths served beside the documented ones (decision
// paths-2022), each deprecated.
var aliases = []op{
	{"GET", "/grades/categories", "listGradingCategories2022"},
}

var unconfirmed = map[string]bool{"acknowledgeTasks": true, "acknowledgeAdminTasks": true, "findAdminTask": true, "deleteAdminTask": true}

func specOperations(doc *openapi3.T) map[op]*openapi3.Operation {
	out := map[op]*openapi3.Operation{}
	for path, item := range doc.Paths.Map() {
		for method, o := range item.Operations() {
			out[op{method, path, o.OperationID}] = o
		}
	}
	return out
}

func TestOperationsMatchTheDocumentedTable(t *testing.T) {
	if len(documented) != 29 {
		t.Fatalf("table holds %d operations, want 29", len(documented))
	}
	ops := specOperations(loadSpec(t))
	for _, want := range documented {
		o, ok := ops[want]
		if !ok {
			t.Errorf("spec lacks %s %s (%s)", want.method, want.path, want.id)
			continue
		}
		_, marked := o.Extensions["x-unconfirmed"]
		if marked != unconfirmed[want.id] {
			t.Errorf("%s: x-unconfirmed = %v, want %v", want.id, marked, unconfirmed[want.id])
		}
		if marked {
			if reason, _ := o.Extensions["x-unconfirmed-reason"].(string); reason == "" {
				t.Errorf("%s: x-unconfirmed without a reason", want.id)
			}
		}
	}
	table := map[op]bool{}
	for _, o := range documented {
		table[o] = true
	}
	for _, a := range aliases {
		o, ok := ops[a]
		if !ok {
			t.Errorf("spec lacks the 2022 alias %s %s (%s)", a.method, a.path, a.id)
			continue
		}
		if !o.Deprecated {
			t.Errorf("%s: the 2022 alias is not deprecated", a.id)
		}
		if d, _ := o.Extensions["x-decision"].(string); d == "" {
			t.Errorf("%s: the 2022 alias has no x-decision", a.id)
		}
		table[a] = true
	}
	for got := range ops {
		if !table[got] {
			t.Errorf("spec has %s %s (%s), which is not in the documented table", got.method, got.path, got.id)
		}
	}
}

func TestEveryOperationDeclaresItsErrorsAndExamples(t *testing.T) {
	doc := loadSpec(t)
	if len(doc.Security) != 2 {
		t.Fatalf("global security = %v, want the two alternatives Actor and LtiJwt", doc.Security)
	}
	for key, o := range specOperations(doc) {
		if o.Security != nil && len(*o.Security) == 0 {
			t.Errorf("%s opts out of security", key.id)
		}
		want := []string{"400", "401", "403", "429", "500"}
		if strings.Contains(key.path, "{id}") {
			want = append(want, "404")
		}
		for _, code := range want {
			r := o.Responses.Value(code)
			if r == nil {
				t.Errorf("%s: no %s response", key.id, code)
				continue
			}
			schema := r.Value.Content.Get("application/json").Schema
			if schema.Ref != "#/components/schemas/ErrorResponse" {
				t.Errorf("%s %s: body is %q, want the error body", key.id, code, schema.Ref)
			}
		}
		if r := o.Responses.Value("429"); r != nil && r.Value.Headers["Retry-After"] == nil {
			t.Errorf("%s: 429 without Retry-After", key.id)
		}
		for code, r := range o.Responses.Map() {
			for ct, mt := range r.Value.Content {
				if mt.Example == nil && len(mt.Examples) == 0 {
					t.Errorf("%s %s %s: response without an example", key.id, code, ct)
				}
			}
		}
		if key.method == "GET" && (strings.HasPrefix(key.id, "list")) {
			names := map[string]*openapi3.Schema{}
			for _, p := range o.Parameters {
				names[p.Value.Name] = p.Value.Schema.Value
			}
			page, size := names["page"], names["page_size"]
			if page == nil || size == nil {
				t.Errorf("%s: lacks page or page_size", key.id)
				continue
			}
			if page.Min == nil || *page.Min != 0 || size.Min == nil || *size.Min != 1 || size.Max == nil {
				t.Errorf("%s: page/page_size bounds are not minimum 0, minimum 1 and a maximum", key.id)
			}
		}
	}
}

// Vocabularies the vendor extends must stay open: a closed enum broke a client
// when production sent CHANGE.
func TestExtensibleVocabulariesAreOpenStrings(t *testing.T) {
	doc := loadSpec(t)
	open := map[string][]string{
		"DataEvent":      {"action"},
		"LifecycleEvent": {"action"},
		"SyncEvent":      {"action", "origin"},
		"OrgSysType":     {"org_type"},
		"PersonSysType":  {"person_type"},
		"Task":           {"schema"},
	}
	for name, props := range open {
		s := doc.Components.Schemas[name].Value
		for _, prop := range props {
			p := findProperty(s, prop)
			if p == nil {
				t.Errorf("%s.%s missing", name, prop)
				continue
			}
			if len(p.Enum) != 0 {
				t.Errorf("%s.%s is a closed enum %v", name, prop, p.Enum)
			}
			if name != "SyncEvent" || prop != "origin" || p.Extensions["x-known-values"] != nil {
				if p.Extensions["x-known-values"] == nil {
					t.Errorf("%s.%s documents no x-known-values", name, prop)
				}
			}
		}
	}
	status := doc.Components.Schemas["TaskAckStatus"].Value
	got := fmt.Sprint(status.Enum)
	if got != "[success error retry reauthenticate]" {
		t.Errorf("TaskAckStatus enum = %s", got)
	}
}

func findProperty(s *openapi3.Schema, name string) *openapi3.Schema {
	if p, ok := s.Properties[name]; ok {
		return p.Value
	}
	for _, sub := range s.AllOf {
		if p := findProperty(sub.Value, name); p != nil {
			return p
		}
	}
	return nil
}

func TestEmbeddedSpecEqualsTheSourceFile(t *testing.T) {
	embedded, err := spec.GetSpecJSON()
	if err != nil {
		t.Fatal(err)
	}
	source, err := json.Marshal(loadSpec(t))
	if err != nil {
		t.Fatal(err)
	}
	var a, b any
	if err := json.Unmarshal(embedded, &a); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(source, &b); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, b) {
		t.Fatal("gen/spec/spec.gen.go does not embed api/openapi.yaml: run make generate")
	}
}

// Every field the reference lists for each schema is present in the spec.
func TestSchemasCarryEveryReferenceField(t *testing.T) {
	doc := loadSpec(t)
	fields := map[string]string{
		"ErrorType":               "status code message ext_message details",
		"SysType":                 "id label school_year created_at updated_at",
		"OrgSysType":              "org_type",
		"PersonSysType":           "person_type",
		"TermSysType":             "term_type",
		"RefType":                 "id type label",
		"OrgRefType":              "org_type",
		"PersonRefType":           "person_type",
		"TermRefType":             "term_type",
		"MembershipRefType":       "$membership",
		"OrgMembershipRefType":    "org_type $membership",
		"PersonMembershipRefType": "person_type $membership",
		"NameType":                "last first middle",
		"AddressType":             "line1 line2 line3 city state postal_code country",
		"ObjectType":              "$ext",
		"Org":                     "$ext $sys local_id name $parent $children $students $teachers",
		"Person":                  "$ext $sys local_id state_id name address phone email sex dob aup grad_year $schools $sections",
		"Course":                  "$ext $sys local_id title description $orgs $sections",
		"Section":                 "$ext $sys local_id title description $terms $course $org $teachers $students",
		"Term":                    "$ext $sys name description start_date end_date status $parent $children",
		"GradingCategory":         "$ext $sys name $term $section $school $schools",
		"PersonOrgMembership":     "$sys $person $org status grade primary start_date end_date",
		"PersonSectionMembership": "$sys $person $section status grade primary start_date end_date",
		"LifecycleEvent":          "id tenant_id sequence created_at action",
		"SyncEvent":               "id tenant_id sequence created_at action group_id origin",
		"DataEvent":               "id tenant_id sequence created_at action object_id object_type group_id app_id label data changes",
		"Authenticate":            "id tenant_id",
		"GradesQuery":             "data",
		"Task":                    "schema lifecycle_event sync_event data_event authenticate grades_query",
		"TaskAck":                 "task_id status message $sys.app_id error params",
		"Paging":                  "next",
	}
	for name, list := range fields {
		ref := doc.Components.Schemas[name]
		if ref == nil {
			t.Errorf("schema %s missing", name)
			continue
		}
		for _, f := range strings.Fields(list) {
			if findProperty(ref.Value, f) == nil {
				t.Errorf("%s lacks %s", name, f)
			}
		}
	}
	formats := map[string]string{"SysType.id": "uuid", "SysType.created_at": "date-time", "Person.email": "email", "Person.dob": "date", "Term.start_date": "date"}
	for key, want := range formats {
		name, prop, _ := strings.Cut(key, ".")
		if p := findProperty(doc.Components.Schemas[name].Value, prop); p == nil || p.Format != want {
			t.Errorf("%s: format is not %s", key, want)
		}
	}
}

// The vendor's published bodies (reference §4) decode into the generated types
// and re-encode without losing any field, $ext contents included.
func TestVendorExamplesRoundTrip(t *testing.T) {
	cases := []struct {
		name string
		into any
		body string
	}{
		{"list orgs (2025)", &models.OrgsResponse{}, `{"data":[{"$ext":{"ANY_ADDITIONAL_PROPERTY":{}},"id":"2a4a2e06-7755-43bb-9766-4f398079ef8c","name":"Kimono School District"}],"paging":{"next":"https://api.us2.kimonocloud.com/v2/interop/data/rostering/orgs?page=1&page_size=2000"}}`},
		{"paging end (old docs)", &models.OrgsResponse{}, `{"data":[],"paging":{"next":null}}`},
		{"list tasks (2025)", &models.TasksResponse{}, `{"data":[{"lifecycle_event":{"id":"123e4567-e89b-12d3-a456-426614174000","tenant_id":"123e4567-e89b-12d3-a456-426614174000","sequence":1,"created_at":"2025-11-16T12:17:04.959Z","action":"TENANT_INSTALLED"},"sync_event":{"id":"123e4567-e89b-12d3-a456-426614174000","tenant_id":"123e4567-e89b-12d3-a456-426614174000","sequence":1,"created_at":"2025-11-16T12:17:04.959Z","action":"SYNC_START","group_id":"text","origin":"initial"},"data_event":{"id":"123e4567-e89b-12d3-a456-426614174000","tenant_id":"123e4567-e89b-12d3-a456-426614174000","sequence":1,"created_at":"2025-11-16T12:17:04.959Z","action":"ADD","object_id":"text","object_type":"text","group_id":"text","app_id":"text","label":"text","data":{"ANY_ADDITIONAL_PROPERTY":{}},"changes":{"ANY_ADDITIONAL_PROPERTY":{}}},"authenticate":{"id":"123e4567-e89b-12d3-a456-426614174000","tenant_id":"123e4567-e89b-12d3-a456-426614174000"}}],"paging":{"next":null}}`},
		{"production CHANGE action (3P)", &models.DataEvent{}, `{"id":"123e4567-e89b-12d3-a456-426614174000","tenant_id":"123e4567-e89b-12d3-a456-426614174000","sequence":9,"created_at":"2023-02-01T00:00:00Z","action":"CHANGE","changes":{"name":{"first":"Jon"}}}`},
		{"task ack (2025 fields)", &models.TaskAck{}, `{"task_id":"123e4567-e89b-12d3-a456-426614174000","status":"success","message":"John Doe added with ID 8858","$sys.app_id":"8858"}`},
		{"task ack (2020 kit)", &models.TaskAck{}, `{"status":"success","message":"ok","app_id":"8858"}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dec := json.NewDecoder(strings.NewReader(c.body))
			if err := dec.Decode(c.into); err != nil {
				t.Fatalf("decode: %v", err)
			}
			out, err := json.Marshal(c.into)
			if err != nil {
				t.Fatal(err)
			}
			var want, got any
			_ = json.Unmarshal([]byte(c.body), &want)
			_ = json.Unmarshal(out, &got)
			if !reflect.DeepEqual(want, got) {
				t.Fatalf("re-encoding lost or changed fields:\n got %s\nwant %s", out, c.body)
			}
		})
	}
}

// Unknown fields and unknown vocabulary values must not break decoding.
func TestUnknownFieldsAndValuesDecode(t *testing.T) {
	body := `{"data":[{"data_event":{"id":"123e4567-e89b-12d3-a456-426614174000","tenant_id":"123e4567-e89b-12d3-a456-426614174000","sequence":2,"created_at":"2025-11-16T12:17:04Z","action":"MERGE","future_field":[1,2]},"brand_new_event":{}}],"paging":{"next":null},"meta":{}}`
	var r models.TasksResponse
	if err := json.NewDecoder(bytes.NewReader([]byte(body))).Decode(&r); err != nil {
		t.Fatal(err)
	}
	if r.Data[0].DataEvent == nil || r.Data[0].DataEvent.Action != "MERGE" {
		t.Fatalf("unknown action not kept: %+v", r.Data[0])
	}
}
