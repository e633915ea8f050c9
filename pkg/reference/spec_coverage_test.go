package reference_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/uuid"

	"github.com/interop-data/interop/internal/ops"
	"github.com/interop-data/interop/pkg/contract"
	"github.com/interop-data/interop/pkg/reference"
	"github.com/interop-data/interop/pkg/reference/oneroster"
	"github.com/interop-data/interop/pkg/reference/referencetest"
	"github.com/interop-data/interop/pkg/reference/store"
)

// The spec is the one place an operation is described: these tests range
// over the generated operation table (internal/ops), so an operation added
// to the spec without demo data, or a property no source ever fills, fails
// here by name instead of passing conformance as "empty".

// getData GETs path (relative to the API base) as tenant 0 and returns the
// status and the body's data member.
func getData(t *testing.T, env *referencetest.Env, token, path string) (int, json.RawMessage) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, env.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := env.Server.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Data json.RawMessage `json:"data"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body.Data
}

func TestEveryListAndFindAnswersObjectsOnTheDemoTenant(t *testing.T) {
	t.Parallel()
	env := referencetest.Start(t, referencetest.WithTenants(1))
	token := env.Token(t, 0)
	var orgIDs []string
	for _, o := range env.Tenants[0].Roster.Orgs {
		orgIDs = append(orgIDs, o.Sys.ID.String())
	}
	// ids[op] are the ids a list answered, for the finds of its objects.
	ids := map[string][]string{}
	for _, l := range ops.Lists() {
		paths := []string{l.Path}
		if l.HasID {
			paths = paths[:0]
			for _, id := range orgIDs {
				paths = append(paths, strings.Replace(l.Path, "{id}", id, 1))
			}
		}
		for _, p := range paths {
			status, data := getData(t, env, token, p+"?page_size=2000")
			var objs []struct {
				Sys struct {
					ID string `json:"id"`
				} `json:"$sys"`
			}
			if status != http.StatusOK || json.Unmarshal(data, &objs) != nil {
				t.Errorf("%s (GET %s) answered %d", l.ID, p, status)
				continue
			}
			for _, o := range objs {
				ids[l.ID] = append(ids[l.ID], o.Sys.ID)
			}
		}
		if len(ids[l.ID]) == 0 {
			t.Errorf("%s (GET %s) returns no object on the demo tenant: add its objects to reference.Demo", l.ID, l.Path)
		}
	}
	for _, f := range ops.Finds() {
		var id string
		for _, l := range ops.Lists() {
			if l.Find == f.ID && len(ids[l.ID]) > 0 {
				id = ids[l.ID][0]
				break
			}
		}
		if id == "" {
			t.Errorf("%s (GET %s): no list of the demo tenant names an object it finds", f.ID, f.Path)
			continue
		}
		if status, data := getData(t, env, token, strings.Replace(f.Path, "{id}", id, 1)); status != http.StatusOK || len(data) == 0 || data[0] != '{' {
			t.Errorf("%s of %s answered %d", f.ID, id, status)
		}
	}
}

// neverFilled lists the schema properties that neither the demo district
// nor the OneRoster loader fills, each with the reason it may stay empty.
// A key names a property and everything below it; "*" stands for any
// object. A property missing from every source and from this list fails the
// test, and so does an entry whose property some source fills.
var neverFilled = map[string]string{
	// The vendor's bookkeeping: the reference server stores objects as the
	// source gives them and invents no timestamps or application ids
	// ($sys.app_id is the integration's own id, sent with acknowledgements).
	"*.$sys.app_id":     "the integration's id, set by the vendor from acknowledgements",
	"*.$sys.created_at": "vendor bookkeeping the reference server does not invent",
	"*.$sys.updated_at": "vendor bookkeeping the reference server does not invent",
	"*.$ext":            "district extensions: no OneRoster column and no demo field maps to them",
	// Rollups the vendor sends only when a tenant turns them on.
	"Org.$students":            "rollup of memberships, off by default at the vendor",
	"Org.$teachers":            "rollup of memberships, off by default at the vendor",
	"GradingCategory.$schools": "rollup of the category's schools, not produced by the loader or demo",
	// Fields the sources have no value for: OneRoster's users.csv has no
	// address or acceptable-use flag, and the demo district does not make
	// them up.
	"Person.address":     "no OneRoster column; the demo district has no addresses",
	"Person.aup":         "no OneRoster column; absent means not known (see the value-types decision)",
	"Person.name.middle": "OneRoster middleName is optional and empty in testdata/recommended; the demo names have none",
	"Person.$sections[].$sys.$membership.label": "memberships carry no label in the demo or the loader",
	"Course.description":                        "no OneRoster column; the demo courses have titles only",
	"Section.description":                       "no OneRoster column; the demo sections have titles only",
	"Term.description":                          "no OneRoster column; the demo terms have names only",
}

// exempt returns the neverFilled entry covering path, if any.
func exempt(path string) (string, bool) {
	_, rest, _ := strings.Cut(path, ".")
	for _, key := range []string{path, "*." + rest} {
		for k := key; ; {
			if _, ok := neverFilled[k]; ok {
				return k, true
			}
			i := strings.LastIndexAny(k, ".[")
			if i <= 0 {
				break
			}
			k = k[:i]
		}
	}
	return "", false
}

// TestEverySchemaPropertyIsFilled: every property of the schema of each
// list's objects is present in some object of the demo district or of a
// OneRoster load (testdata/recommended), or named in neverFilled.
func TestEverySchemaPropertyIsFilled(t *testing.T) {
	t.Parallel()
	env := referencetest.Start(t, referencetest.WithTenants(1))
	ctx := context.Background()
	loaded := uuid.MustParse("6a0e1c55-52c8-4d7e-9a71-0f3c1c1e2b77")
	if _, err := reference.InstallTenant(ctx, env.Store, "Loaded", env.Clock.Now(), reference.TenantCredentials{TenantID: loaded, ClientID: "loaded", ClientSecret: "loaded-secret"}); err != nil {
		t.Fatal(err)
	}
	src, err := oneroster.Open("oneroster/testdata/recommended")
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if _, err := oneroster.Load(ctx, env.Store, loaded, src, oneroster.WithClock(env.Clock.Now), oneroster.WithTempDir(t.TempDir())); err != nil {
		t.Fatal(err)
	}
	doc, err := contract.Load()
	if err != nil {
		t.Fatal(err)
	}
	filled := map[string]bool{}
	var objects []string
	for _, l := range ops.Lists() {
		if slices.Contains(objects, l.Object) {
			continue
		}
		objects = append(objects, l.Object)
		objs, _, err := env.Store.ListObjects(ctx, store.ObjectQuery{Tenants: []uuid.UUID{env.Tenants[0].ID, loaded},
			Kind: store.Kind(l.Object), Limit: 1 << 20})
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range objs {
			var v any
			if err := json.Unmarshal(o.Data, &v); err != nil {
				t.Fatal(err)
			}
			present(l.Object, v, filled)
		}
	}
	var missing []string
	for _, name := range objects {
		ref := doc.Components.Schemas[name]
		if ref == nil {
			t.Fatalf("%s: no such schema", name)
		}
		for _, p := range properties(name, ref, 0) {
			key, ok := exempt(p)
			switch {
			case filled[p] && ok && key == strings.Replace(p, name+".", "*.", 1):
				// A "*" entry may be filled for one object and not another.
			case filled[p] && ok && key == p:
				t.Errorf("%s is in neverFilled but is filled: take it off the list", p)
			case !filled[p] && !ok:
				missing = append(missing, p)
			}
		}
	}
	sort.Strings(missing)
	for _, p := range missing {
		t.Errorf("%s is never filled by reference.Demo nor by the OneRoster loader: fill it, or name it in neverFilled with the reason", p)
	}
}

// properties lists the property paths of a schema: name.a, name.a.b, and
// name.a[].b for the items of an array.
func properties(at string, ref *openapi3.SchemaRef, depth int) []string {
	if ref == nil || ref.Value == nil || depth > 6 {
		return nil
	}
	s := ref.Value
	var out []string
	for _, sub := range append(append(openapi3.SchemaRefs{}, s.AllOf...), s.OneOf...) {
		out = append(out, properties(at, sub, depth+1)...)
	}
	if s.Items != nil {
		out = append(out, properties(at+"[]", s.Items, depth+1)...)
	}
	for name, p := range s.Properties {
		path := at + "." + name
		out = append(out, path)
		out = append(out, properties(path, p, depth+1)...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// present marks every path v fills, with the naming of properties.
func present(at string, v any, filled map[string]bool) {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if x == nil {
				continue
			}
			filled[at+"."+k] = true
			present(at+"."+k, x, filled)
		}
	case []any:
		for _, x := range v {
			present(at+"[]", x, filled)
		}
	}
}
