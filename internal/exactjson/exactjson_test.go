package exactjson_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/interop-data/interop/internal/exactjson"
)

// node is a recursive type with a field of every shape Check treats apart.
type node struct {
	Status  string          `json:"status"`
	Message string          `json:"message,omitempty"`
	Inner   *node           `json:"inner"`
	List    []node          `json:"list"`
	Dict    map[string]node `json:"dict"`
	Any     any             `json:"any"`
	ID      uuid.UUID       `json:"id"`
	Raw     json.RawMessage `json:"raw"`
	Skipped string          `json:"-"`
	embedded
}

type embedded struct {
	AppID string `json:"$sys.app_id"`
}

func TestCheck(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, doc string
		pointer   string // "" when the document is fine
		key       string
	}{
		{"exact keys", `{"status":"retry","message":"m","$sys.app_id":"a"}`, "", ""},
		{"status twice by case", `{"status":"retry","STATUS":"success"}`, "/STATUS", "STATUS"},
		{"message by case", `{"status":"error","message":"ok","MESSAGE":"xxx"}`, "/MESSAGE", "MESSAGE"},
		{"alone by case", `{"Status":"success"}`, "/Status", "Status"},
		{"Unicode folding", `{"ſtatus":"success"}`, "/ſtatus", "ſtatus"},
		{"escaped", `{"\u0053tatus":"success"}`, "/Status", "Status"},
		{"promoted field", `{"$SYS.APP_ID":"a"}`, "/$SYS.APP_ID", "$SYS.APP_ID"},
		{"nested", `{"inner":{"inner":{"Message":"x"}}}`, "/inner/inner/Message", "Message"},
		{"in a list", `{"list":[{},{"status":"a"},{"STATUS":"b"}]}`, "/list/2/STATUS", "STATUS"},
		{"in a map value", `{"dict":{"a/b":{"sTatus":"x"}}}`, "/dict/a~1b/sTatus", "sTatus"},
		{"map keys are exact", `{"dict":{"STATUS":{}}}`, "", ""},
		{"interface is not looked into", `{"any":{"STATUS":1}}`, "", ""},
		{"raw message is not looked into", `{"raw":{"STATUS":1}}`, "", ""},
		{"unknown keys are the schema's business", `{"other":1,"statuses":2}`, "", ""},
		{"a skipped field is unknown", `{"SKIPPED":1}`, "", ""},
		{"wrong shapes are the decoder's", `{"inner":"x","list":{"STATUS":1},"dict":[{"STATUS":1}]}`, "", ""},
		{"not JSON", `{"status":`, "", ""},
		{"deep value skipped", `{"any":` + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + `,"STATUS":1}`, "/STATUS", "STATUS"},
	} {
		err := exactjson.Check([]byte(c.doc), &node{})
		var ke *exactjson.KeyError
		if c.pointer == "" {
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
			continue
		}
		if !errors.As(err, &ke) {
			t.Errorf("%s: %v, want a KeyError", c.name, err)
			continue
		}
		if ke.Pointer != c.pointer || ke.Key != c.key {
			t.Errorf("%s: pointer %q key %q, want %q %q", c.name, ke.Pointer, ke.Key, c.pointer, c.key)
		}
	}
}

// What Check refuses is what would otherwise decode into a field the
// document does not name exactly.
func TestCheckSeesWhatTheDecoderDoes(t *testing.T) {
	t.Parallel()
	var n node
	doc := []byte(`{"status":"retry","STATUS":"success"}`)
	if err := json.Unmarshal(doc, &n); err != nil || n.Status != "success" {
		t.Fatalf("encoding/json no longer folds keys (%v, %q): Check may be unneeded", err, n.Status)
	}
	if exactjson.Check(doc, &n) == nil {
		t.Error("Check let it through")
	}
	if exactjson.Check(doc, nil) != nil || exactjson.Check(doc, new(map[string]any)) != nil {
		t.Error("a target without fields has nothing to mismatch")
	}
}

func BenchmarkCheck(b *testing.B) {
	var buf bytes.Buffer
	buf.WriteString(`{"list":[`)
	for i := range 2000 {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.WriteString(`{"status":"error","message":"` + strings.Repeat("m", 400) + `","id":"` + uuid.NewString() + `","any":{"a":[1,2,3]}}`)
	}
	buf.WriteString(`]}`)
	doc := buf.Bytes()
	b.SetBytes(int64(len(doc)))
	b.Run("Check", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := exactjson.Check(doc, &node{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("baseline-Unmarshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var n node
			if err := json.Unmarshal(doc, &n); err != nil {
				b.Fatal(err)
			}
		}
	})
}
