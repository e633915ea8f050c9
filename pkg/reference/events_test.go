package reference_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/interop-data/interop/pkg/reference"
	"github.com/interop-data/interop/pkg/reference/store"
)

// DataTask writes its payload by hand; it must be, byte for byte, what
// json.Marshal writes for the event, over labels and subtypes that need
// escaping (HTML characters, control characters, U+2028, invalid UTF-8) and
// data and changes that encoding/json compacts or escapes.
func TestDataTaskMatchesMarshal(t *testing.T) {
	type event struct {
		Action     string                     `json:"action"`
		ObjectID   string                     `json:"object_id"`
		ObjectType string                     `json:"object_type"`
		GroupID    string                     `json:"group_id"`
		Label      string                     `json:"label,omitempty"`
		Data       json.RawMessage            `json:"data,omitempty"`
		Changes    map[string]json.RawMessage `json:"changes,omitempty"`
	}
	r := rand.New(rand.NewPCG(3, 4))
	strs := []string{"", "", "a", "Student One", `<b> & "q" \ `, "<tag>", "AT&T", "line\nbreak\ttab\x01\x7f\b\f\r",
		"é ü 東京", "\u2028\u2029", "bad \xff utf8", "'", "end\xe2\x80", "\xe2\x80\xa8x"}
	str := func() string { return strs[r.IntN(len(strs))] }
	raws := []json.RawMessage{
		nil,
		json.RawMessage{},
		json.RawMessage(`{}`),
		json.RawMessage(`null`),
		json.RawMessage(`"x"`),
		json.RawMessage(`{"name":{"first":"Ann","last":"Lee Smith"},"n":[1,2.5,-3e2,true,false,null]}`),
		json.RawMessage(`{ "name" : { "first" : "Ann" } }`),
		json.RawMessage("{\n\t\"a\": [1,\r\n 2]\n}"),
		json.RawMessage(`{"label":"<b> & c"}`),
		json.RawMessage(`{"q":"say \"hi\" \\","r":"\\"}`),
		json.RawMessage(`{"q":"a\"<"}`),
		json.RawMessage("{\"u\":\"\u2028 and \u2029\"}"),
		json.RawMessage("{\"u\":\"\u20ac \u00e9 東京\"}"),
		json.RawMessage(`{"u":"\u003c escaped \u2028 already"}`),
		json.RawMessage(`[ ]`),
	}
	raw := func() json.RawMessage { return raws[r.IntN(len(raws))] }
	kinds := []store.Kind{store.KindPerson, store.KindOrg, store.KindSection, store.KindPersonSectionMembership, store.Kind(str())}
	actions := []string{reference.ActionAdd, reference.ActionChange, reference.ActionDelete, str()}
	for i := range 5000 {
		o := store.Object{ID: uuid.New(), Kind: kinds[r.IntN(len(kinds))], Subtype: str(), Label: str()}
		if r.IntN(10) == 0 {
			o.ID = uuid.Nil
		}
		data := raw()
		var changes map[string]json.RawMessage
		switch r.IntN(3) {
		case 0:
			changes = map[string]json.RawMessage{}
		case 1:
			changes = map[string]json.RawMessage{}
			for range 1 + r.IntN(4) {
				changes[str()] = raw()
			}
		}
		action, group := actions[r.IntN(len(actions))], uuid.New()
		want, err := json.Marshal(event{action, o.ID.String(), reference.Topic(o.Kind, o.Subtype), group.String(), o.Label, data, changes})
		if err != nil {
			want = nil // DataTask's payload where json.Marshal fails
		}
		got := reference.DataTask(action, o, data, changes, group, "d")
		if !bytes.Equal(got.Payload, want) {
			t.Fatalf("case %d: %+v data %q changes %q:\n got %s\nwant %s", i, o, data, changes, got.Payload, want)
		}
		if got.Kind != store.TaskData || got.Driver != "d" {
			t.Fatalf("case %d: task %+v", i, got)
		}
	}
}

func BenchmarkDataTask(b *testing.B) {
	o := store.Object{ID: uuid.New(), Kind: store.KindPerson, Subtype: store.SubtypeStudent, Label: "Ann Lee",
		Data: json.RawMessage(`{"$sys":{"id":"7d5e1c3a-3b1e-4f4e-9d7a-1a2b3c4d5e6f","type":"person","person_type":"Student","label":"Ann Lee","source_id":{"oneroster":"u-1"}},"name":{"first":"Ann","last":"Lee"},"email":"ann@example.org","sections":[{"$sys":{"id":"0d5e1c3a-3b1e-4f4e-9d7a-1a2b3c4d5e6f","type":"section","label":"Math 1","membership":{"id":"1d5e1c3a-3b1e-4f4e-9d7a-1a2b3c4d5e6f","type":"person_section_membership"}}}]}`)}
	g := uuid.New()
	b.ReportAllocs()
	for b.Loop() {
		reference.DataTask(reference.ActionAdd, o, o.Data, nil, g, "")
	}
}

// changesMarshal is Changes as it was written first: both sides decoded
// whole, each differing attribute decoded and marshalled again.
func changesMarshal(prior, next json.RawMessage) (map[string]json.RawMessage, error) {
	var p, n map[string]json.RawMessage
	if err := json.Unmarshal(prior, &p); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(next, &n); err != nil {
		return nil, err
	}
	same := func(a, b json.RawMessage) bool {
		if bytes.Equal(a, b) {
			return true
		}
		var av, bv any
		if json.Unmarshal(a, &av) != nil || json.Unmarshal(b, &bv) != nil {
			return false
		}
		ab, _ := json.Marshal(av)
		bb, _ := json.Marshal(bv)
		return bytes.Equal(ab, bb)
	}
	out := map[string]json.RawMessage{}
	for k, pv := range p {
		if nv, ok := n[k]; !ok || !same(pv, nv) {
			out[k] = pv
		}
	}
	for k := range n {
		if _, ok := p[k]; !ok {
			out[k] = json.RawMessage("null")
		}
	}
	return out, nil
}

// Changes finds the members of both sides without decoding them and
// compares differing values decoded: the same answer as decoding both
// sides and comparing the re-marshalled values, over objects with
// whitespace, escaped and non-ASCII keys, repeated keys, nested values in
// another key order, numbers written differently (1, 1.0, 1e0, -0, 0) and
// strings with escapes.
func TestChangesAsMarshal(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	keys := []string{`"a"`, `"b"`, `"name"`, `"$sys"`, `"a\u0062"`, `"é"`, `"x\"y"`, `"k\\"`}
	vals := []string{`1`, `1.0`, `1e0`, `-0`, `0`, `2.5`, `-3e-2`, `true`, `false`, `null`, `""`, `"s"`, `"s\"q\\"`, `"\u0073"`, `"<&>"`,
		`"é"`, `"\u00e9"`, `[]`, `[1,2]`, `[ 1 , 2 ]`, `[2,1]`, `{}`, `{"a":1,"b":[true,{"c":"}"}]}`, `{"b":[true,{"c":"}"}],"a":1}`,
		`{ "a" : 1 , "b" : [ true , { "c" : "}" } ] }`, `{"a":1,"b":[true,{"c":"]"}]}`, `[{"x":"[{"},"y"]`}
	ws := func() string {
		if r.IntN(3) > 0 {
			return ""
		}
		return []string{" ", "\n", "\t ", "\r\n"}[r.IntN(4)]
	}
	obj := func() json.RawMessage {
		var b strings.Builder
		b.WriteString(ws() + "{" + ws())
		for i := range r.IntN(5) {
			if i > 0 {
				b.WriteString("," + ws())
			}
			b.WriteString(keys[r.IntN(len(keys))] + ws() + ":" + ws() + vals[r.IntN(len(vals))] + ws())
		}
		b.WriteString("}" + ws())
		return json.RawMessage(b.String())
	}
	for i := range 20000 {
		prior, next := obj(), obj()
		if r.IntN(4) == 0 {
			next = prior
		}
		want, werr := changesMarshal(prior, next)
		got, err := reference.Changes(prior, next)
		if (err != nil) != (werr != nil) || len(got) != len(want) {
			t.Fatalf("case %d: Changes(%s, %s) = %q, %v; want %q, %v", i, prior, next, got, err, want, werr)
		}
		for k, v := range want {
			if g, ok := got[k]; !ok || !bytes.Equal(g, v) {
				t.Fatalf("case %d: Changes(%s, %s) = %q; want %q", i, prior, next, got, want)
			}
		}
	}
	if got, err := reference.Changes(json.RawMessage(`null`), json.RawMessage(`{"a":1}`)); err != nil || len(got) != 1 || string(got["a"]) != "null" {
		t.Errorf("Changes(null, {\"a\":1}) = %q, %v; want a new attribute, as json.Unmarshal reads null as no map", got, err)
	}
	for _, bad := range []string{`[]`, `"x"`, `1`} {
		if _, err := reference.Changes(json.RawMessage(bad), json.RawMessage(`{}`)); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("Changes(%s, {}) = %v, want ErrInvalid", bad, err)
		}
		if _, err := reference.Changes(json.RawMessage(`{}`), json.RawMessage(bad)); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("Changes({}, %s) = %v, want ErrInvalid", bad, err)
		}
	}
}

// BenchmarkChanges compares a section whose 30 students' labels changed in
// one place (a renamed student): Changes against decoding and re-marshalling
// as changesMarshal does.
func BenchmarkChanges(b *testing.B) {
	section := func(renamed string) json.RawMessage {
		var s strings.Builder
		s.WriteString(`{"$sys":{"id":"7d5e1c3a-3b1e-4f4e-9d7a-1a2b3c4d5e6f","type":"section","label":"Math 1","source_id":{"oneroster":"c-1"}},"title":"Math 1","students":[`)
		for i := range 30 {
			if i > 0 {
				s.WriteString(",")
			}
			label := "Student Number"
			if i == 7 {
				label = renamed
			}
			s.WriteString(`{"$sys":{"id":"0d5e1c3a-3b1e-4f4e-9d7a-1a2b3c4d5e6f","type":"person","person_type":"Student","label":"` + label + `","membership":{"id":"1d5e1c3a-3b1e-4f4e-9d7a-1a2b3c4d5e6f","type":"person_section_membership"}}}`)
		}
		s.WriteString(`]}`)
		return json.RawMessage(s.String())
	}
	prior, next := section("Student Number"), section("Student Renamed")
	b.Run("marshal", func(b *testing.B) {
		for b.Loop() {
			changesMarshal(prior, next)
		}
	})
	b.Run("Changes", func(b *testing.B) {
		for b.Loop() {
			reference.Changes(prior, next)
		}
	})
}
