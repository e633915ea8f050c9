package reference_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"sort"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	specfile "github.com/interop-data/interop/api"
	"github.com/interop-data/interop/pkg/reference/referencetest"
)

// leftOut2022 are the operations of the vendor's 2022 file this contract
// does not have, each with the decision that says why.
var leftOut2022 = map[string]string{
	"listIngestions":  "ingestion",
	"createIngestion": "ingestion",
	"findIngestion":   "ingestion",
	"cancelIngestion": "ingestion",
}

// specOp is one operation of api/openapi.yaml.
type specOp struct {
	id         string
	deprecated bool
}

// ourOperations maps "METHOD /path" to the operation of our spec there.
func ourOperations(t *testing.T) map[string]specOp {
	t.Helper()
	var doc struct {
		Paths map[string]map[string]any `yaml:"paths"`
	}
	if err := yaml.Unmarshal(specfile.Spec, &doc); err != nil {
		t.Fatal(err)
	}
	out := map[string]specOp{}
	for path, item := range doc.Paths {
		for method, v := range item {
			op, _ := v.(map[string]any)
			if id, _ := op["operationId"].(string); id != "" {
				dep, _ := op["deprecated"].(bool)
				out[strings.ToUpper(method)+" "+path] = specOp{id, dep}
			}
		}
	}
	return out
}

// Every path of the vendor's 2022 Swagger file answers on the reference
// server as the operation it names does, or is one the spec leaves out with a
// decision (and then 404): a client generated from the 2022 file works
// against the sandbox (decision paths-2022).
func TestEvery2022PathAnswers(t *testing.T) {
	raw, err := os.ReadFile("testdata/vendor-2022.swagger.json")
	if err != nil {
		t.Fatal(err)
	}
	var v2022 struct {
		BasePath string `json:"basePath"`
		Paths    map[string]map[string]struct {
			OperationID string `json:"operationId"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(raw, &v2022); err != nil {
		t.Fatal(err)
	}
	if v2022.BasePath != "/v2/interop/data" {
		t.Fatalf("the 2022 basePath is %q; the walk below assumes ours", v2022.BasePath)
	}
	ours := ourOperations(t)

	env := referencetest.Start(t, referencetest.WithTenants(1))
	a := newAPI(t, env, 0)
	r := env.Tenants[0].Roster
	var lea, school string
	for _, o := range r.Orgs {
		switch o.Sys.OrgType {
		case "LEA":
			lea = o.Sys.ID.String()
		case "School":
			school = o.Sys.ID.String()
		}
	}
	// A real id for each path with one, so that finds answer 200.
	idFor := map[string]string{
		"/rostering/orgs/{id}":          school,
		"/rostering/orgs/{id}/students": school,
		"/rostering/orgs/{id}/teachers": school,
		"/rostering/orgs/{id}/courses":  lea,
		"/rostering/orgs/{id}/sections": school,
		"/rostering/orgs/{id}/terms":    lea,
		"/rostering/leas/{id}":          lea,
		"/rostering/persons/{id}":       r.Persons[0].Sys.ID.String(),
		"/rostering/courses/{id}":       r.Courses[0].Sys.ID.String(),
		"/rostering/sections/{id}":      r.Sections[0].Sys.ID.String(),
		"/rostering/terms/{id}":         r.Terms[0].Sys.ID.String(),
	}

	var keys []string
	for path, item := range v2022.Paths {
		for method := range item {
			keys = append(keys, strings.ToUpper(method)+" "+path)
		}
	}
	sort.Strings(keys)
	answered := 0
	for _, key := range keys {
		method, path, _ := strings.Cut(key, " ")
		id2022 := v2022.Paths[path][strings.ToLower(method)].OperationID
		ours, shared := ours[key]
		if why, ok := leftOut2022[id2022]; ok {
			if shared {
				t.Errorf("%s (%s) is listed as left out (decision %s) but the spec has %s there", key, id2022, why, ours.id)
			}
			if !strings.Contains(string(specfile.Spec), "- id: "+why+"\n") {
				t.Errorf("%s: decision %q is not in the spec", key, why)
			}
			a.wantError(method, strings.ReplaceAll(path, "{id}", "0b6b1f5e-2d0c-4c59-9d43-1f4e8a3d9c01"), nil, 404, "not_found")
			continue
		}
		if !shared {
			t.Errorf("%s (%s of the 2022 file) is not in the spec and no decision leaves it out", key, id2022)
			continue
		}
		// The 2022 path is the operation's own, or its deprecated alias.
		if ours.id != id2022 && (!ours.deprecated || ours.id != id2022+"2022") {
			t.Errorf("%s is %s in the 2022 file but %s (deprecated %v) here", key, id2022, ours.id, ours.deprecated)
			continue
		}
		switch method {
		case http.MethodGet:
			p := path
			if strings.Contains(p, "{id}") {
				id, ok := idFor[p]
				if !ok {
					t.Errorf("%s: no id to call it with", key)
					continue
				}
				p = strings.ReplaceAll(p, "{id}", id)
			}
			code, b := a.do(method, p, nil)
			if code != 200 {
				t.Errorf("%s %s = %d %s", method, p, code, b)
				continue
			}
			if ours.deprecated {
				// The alias answers as the operation it stands for.
				canonical := canonicalPath(t, ours, id2022)
				_, want := a.do(method, canonical, nil)
				if !bytes.Equal(b, want) {
					t.Errorf("%s answered differently from %s:\n%.300s\n%.300s", p, canonical, b, want)
				}
			}
		case http.MethodPut: // acknowledgeTask, with the 2022 TaskAck
			task := a.lease("/tasks?page_size=1")[0]
			p := strings.ReplaceAll(path, "{id}", task.ID)
			body := map[string]any{"status": "error", "message": "2022 client", "error": map[string]any{"message": "failed"}, "params": map[string]string{"k": "v"}}
			if code, b := a.do(method, p, body); code != 200 {
				t.Errorf("%s %s with the 2022 TaskAck = %d %s", method, p, code, b)
			}
		default:
			t.Errorf("%s: no way to call a %s", key, method)
			continue
		}
		answered++
	}
	if answered != len(keys)-len(leftOut2022) {
		t.Errorf("answered %d of %d 2022 operations (%d left out)", answered, len(keys), len(leftOut2022))
	}
}

// canonicalPath is the path of the operation an alias stands for.
func canonicalPath(t *testing.T, alias specOp, id string) string {
	t.Helper()
	for key, o := range ourOperations(t) {
		if o.id == id && !o.deprecated {
			_, p, _ := strings.Cut(key, " ")
			return p
		}
	}
	t.Fatalf("alias %s: no operation %s", alias.id, id)
	return ""
}
