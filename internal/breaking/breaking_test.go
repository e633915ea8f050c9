package breaking

import (
	"errors"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/interop-data/interop/api"
)

// edit returns the spec with f applied to its decoded form.
func edit(t *testing.T, f func(doc map[string]any)) []byte {
	t.Helper()
	var doc map[string]any
	if err := yaml.Unmarshal(api.Spec, &doc); err != nil {
		t.Fatal(err)
	}
	f(doc)
	out, err := yaml.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func paths(doc map[string]any) map[string]any { return doc["paths"].(map[string]any) }

const released = "# Changelog\n\n## [Unreleased]\n%s\n## [0.1.0] - 2026-11-30\n\n### Breaking\n\n- GET /grades/gradingCategories (an old note: not this release's)\n"

func changelog(unreleased string) []byte {
	return []byte(strings.Replace(released, "%s", unreleased, 1))
}

// withoutGradingCategories removes the operation listGradingCategories.
func withoutGradingCategories(t *testing.T) []byte {
	return edit(t, func(doc map[string]any) { delete(paths(doc), "/grades/gradingCategories") })
}

func TestUnchangedSpecPasses(t *testing.T) {
	changes, err := Check(api.Spec, api.Spec, changelog(""))
	if err != nil || len(changes) != 0 {
		t.Fatalf("the spec against itself: %v, %v", changes, err)
	}
}

// The check itself: a breaking change fails until the Unreleased section
// records it under Breaking, by METHOD /path or by operationId.
func TestBreakingChangeNeedsAChangelogEntry(t *testing.T) {
	revised := withoutGradingCategories(t)
	for _, tc := range []struct {
		name, unreleased string
		ok               bool
	}{
		{"no entry", "", false},
		{"recorded elsewhere than Breaking", "\n### Removed\n\n- GET /grades/gradingCategories\n", false},
		{"another operation recorded", "\n### Breaking\n\n- GET /grades/gradingCategories/{id} is gone\n", false},
		{"another operationId recorded", "\n### Breaking\n\n- listGradingCategoriesV2 is gone\n", false},
		{"recorded by path", "\n### Breaking\n\n- `GET /grades/gradingCategories` is gone.\n", true},
		{"recorded by operationId", "\n### Breaking changes\n\n- listGradingCategories: removed\n", true},
	} {
		changes, err := Check(api.Spec, revised, changelog(tc.unreleased))
		var unrec *UnrecordedError
		if tc.ok {
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
			}
			if len(changes) == 0 || !changes[0].Recorded {
				t.Errorf("%s: changes %v, want the removal marked recorded", tc.name, changes)
			}
			continue
		}
		if !errors.As(err, &unrec) {
			t.Errorf("%s: err = %v, want an *UnrecordedError", tc.name, err)
			continue
		}
		if len(unrec.Changes) == 0 || unrec.Changes[0].Operation() != "GET /grades/gradingCategories" ||
			!strings.Contains(err.Error(), "GET /grades/gradingCategories") {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

func TestBreakingKinds(t *testing.T) {
	for _, tc := range []struct {
		name     string
		revise   func(doc map[string]any)
		breaking bool
	}{
		{"a new operation is not breaking", func(doc map[string]any) {
			paths(doc)["/rostering/newThings"] = paths(doc)["/grades/gradingCategories"]
			get := paths(doc)["/rostering/newThings"].(map[string]any)["get"].(map[string]any)
			get["operationId"] = "listNewThings"
		}, false},
		{"a removed response status is breaking", func(doc map[string]any) {
			get := paths(doc)["/grades/gradingCategories"].(map[string]any)["get"].(map[string]any)
			delete(get["responses"].(map[string]any), "200")
		}, true},
		{"a new required query parameter is breaking", func(doc map[string]any) {
			get := paths(doc)["/grades/gradingCategories"].(map[string]any)["get"].(map[string]any)
			get["parameters"] = append(get["parameters"].([]any), map[string]any{
				"name": "must", "in": "query", "required": true, "schema": map[string]any{"type": "string"},
			})
		}, true},
	} {
		changes, err := Check(api.Spec, edit(t, tc.revise), changelog(""))
		var unrec *UnrecordedError
		if got := errors.As(err, &unrec); got != tc.breaking {
			t.Errorf("%s: changes %v, err %v", tc.name, changes, err)
		}
		if err != nil && !errors.As(err, &unrec) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

func TestUnreleased(t *testing.T) {
	if _, err := Check(api.Spec, api.Spec, []byte("# Changelog\n\n## [0.1.0] - 2026-11-30\n")); !errors.Is(err, ErrNoUnreleased) {
		t.Errorf("no Unreleased section: %v", err)
	}
	got, err := Unreleased([]byte("# C\n\n## Unreleased\n\n### Breaking\n- x\n\n## [1.0.0] - d\n- y\n"))
	if err != nil || got != "\n### Breaking\n- x\n\n" {
		t.Errorf("Unreleased: %q, %v", got, err)
	}
	if _, err := Diff([]byte("not: [a spec"), api.Spec); err == nil {
		t.Error("Diff accepted a broken base")
	}
}

// A $ref wrapped in a one-element allOf (as the spec does to steer the Go
// generator) and the bare $ref are the same message: no breaking change in
// either direction.
func TestAllOfWrappingIsNotBreaking(t *testing.T) {
	bare := edit(t, func(doc map[string]any) {
		props := doc["components"].(map[string]any)["schemas"].(map[string]any)["Task"].(map[string]any)["properties"].(map[string]any)
		n := 0
		for k, v := range props {
			if all, ok := v.(map[string]any)["allOf"].([]any); ok && len(all) == 1 {
				props[k] = all[0]
				n++
			}
		}
		if n == 0 {
			t.Fatal("Task has no one-element allOf left to unwrap: the test checks nothing")
		}
	})
	for _, pair := range [][2][]byte{{bare, api.Spec}, {api.Spec, bare}} {
		changes, err := Check(pair[0], pair[1], changelog(""))
		if err != nil {
			t.Fatalf("allOf wrapping reported as breaking: %v", err)
		}
		for _, c := range changes {
			t.Errorf("allOf wrapping reported: %s", c)
		}
	}
}
