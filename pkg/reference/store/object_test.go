package store_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/uuid"

	"github.com/interop-data/interop/pkg/reference/store"
)

// FuzzCheckObjectData holds CheckObject's JSON check to encoding/json's
// verdict: an object's data is kept exactly when it is valid JSON whose
// first value is an object (what every reader of a stored object parses).
func FuzzCheckObjectData(f *testing.F) {
	for _, s := range []string{
		`{}`, ` {"a":1} `, `{"a":[1,2,{"b":null}],"c":"\u00e9\n"}`, `[]`, `"x"`, ``, ` `,
		`{"a":01}`, `{"a":1.}`, `{"a":-}`, `{"a":1e}`, `{"a":.5}`, `{"a":tru}`, `{"a":nul}`,
		"{\"a\":\"\x01\"}", "{\"a\":\"\xff\xfe\"}", `{"a":"\ud800"}`, `{"a":"\x"}`, `{"a":"\u12"}`,
		`{}x`, `{}{}`, `{"a":1,}`, `{,}`, `{"a"}`, `{"a":}`, "{\"a\":1}\x00",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		o := store.Object{ID: uuid.New(), Kind: store.KindPerson, Data: data}
		err := store.CheckObject(o)
		trimmed := bytes.TrimSpace(data)
		want := json.Valid(data) && len(trimmed) > 0 && trimmed[0] == '{'
		if want && err != nil {
			t.Fatalf("CheckObject(%q) = %v, want nil: encoding/json takes it", data, err)
		}
		if !want && !errors.Is(err, store.ErrInvalid) {
			t.Fatalf("CheckObject(%q) = %v, want ErrInvalid: encoding/json refuses it", data, err)
		}
	})
}
