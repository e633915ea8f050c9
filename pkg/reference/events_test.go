package reference_test

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
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
