package reference

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"

	"github.com/google/uuid"

	"github.com/interop-data/interop/internal/jsonenc"
	"github.com/interop-data/interop/pkg/reference/store"
)

// This file builds the payloads of the tasks the reference server enqueues:
// the stores only keep them.

// Actions of the tasks the reference server enqueues.
const (
	ActionTenantInstalled = "TENANT_INSTALLED"
	ActionSyncStart       = "SYNC_START"
	ActionSyncEnd         = "SYNC_END"
	ActionAdd             = "ADD"
	ActionChange          = "CHANGE"
	ActionDelete          = "DELETE"
)

// Topic is the data-model topic of an object, the object_type of its data
// events: "RDM:" and the person or org type for persons and orgs, the kind
// otherwise (RDM:Student, RDM:School, RDM:Course, ...).
func Topic(kind store.Kind, subtype string) string {
	if (kind == store.KindPerson || kind == store.KindOrg) && subtype != "" {
		return "RDM:" + subtype
	}
	return "RDM:" + string(kind)
}

// LifecycleTask is a lifecycle_event task with this action.
func LifecycleTask(action, driver string) store.NewTask {
	p, _ := json.Marshal(map[string]string{"action": action})
	return store.NewTask{Kind: store.TaskLifecycle, Driver: driver, Payload: p}
}

// SyncTask is a sync_event task of a sync group.
func SyncTask(action string, group uuid.UUID, origin, driver string) store.NewTask {
	p, _ := json.Marshal(map[string]string{"action": action, "group_id": group.String(), "origin": origin})
	return store.NewTask{Kind: store.TaskSync, Driver: driver, Payload: p}
}

// DataTask is a data_event task: data is the object's current JSON (its prior
// JSON for a DELETE), changes the prior values of the attributes a CHANGE
// changed. data and the changes must be valid JSON, as every object's data
// is once a store has taken it (store.CheckObject): the payload is what
// json.Marshal writes for the event (action, object_id, object_type, group_id,
// and label, data and changes when not empty), written by hand because a
// sync builds one per object and encoding/json would check and compact each
// object's JSON again.
func DataTask(action string, o store.Object, data json.RawMessage, changes map[string]json.RawMessage, group uuid.UUID, driver string) store.NewTask {
	return store.NewTask{Kind: store.TaskData, Driver: driver, Payload: appendDataEvent(nil, action, o, data, changes, group)}
}

// appendDataEvent appends the JSON of a data event to b, byte for byte what
// json.Marshal writes (TestDataTaskMatchesMarshal), or returns nil where
// json.Marshal fails.
func appendDataEvent(b []byte, action string, o store.Object, data json.RawMessage, changes map[string]json.RawMessage, group uuid.UUID) []byte {
	b = slices.Grow(b, len(data)+len(o.Label)+160)
	b = append(b, `{"action":`...)
	b = jsonenc.String(b, action)
	b = append(b, `,"object_id":"`...)
	b = jsonenc.UUID(b, o.ID)
	b = append(b, `","object_type":`...)
	b = append(b, `"RDM:`...) // Topic, without its concatenation
	if (o.Kind == store.KindPerson || o.Kind == store.KindOrg) && o.Subtype != "" {
		b = jsonenc.StringBody(b, o.Subtype)
	} else {
		b = jsonenc.StringBody(b, string(o.Kind))
	}
	b = append(b, `","group_id":"`...)
	b = jsonenc.UUID(b, group)
	b = append(b, '"')
	if o.Label != "" {
		b = append(b, `,"label":`...)
		b = jsonenc.String(b, o.Label)
	}
	var ok bool
	if len(data) > 0 {
		b = append(b, `,"data":`...)
		if b, ok = appendRaw(b, data); !ok {
			return nil
		}
	}
	if len(changes) > 0 {
		b = append(b, `,"changes":{`...)
		for i, k := range slices.Sorted(maps.Keys(changes)) {
			if i > 0 {
				b = append(b, ',')
			}
			b = jsonenc.String(b, k)
			b = append(b, ':')
			if b, ok = appendRaw(b, changes[k]); !ok {
				return nil
			}
		}
		b = append(b, '}')
	}
	return append(b, '}')
}

// appendRaw appends a valid JSON value as json.Marshal writes a
// json.RawMessage: compacted, with <, >, & and U+2028/U+2029 in strings
// escaped. The JSON the stores keep needs neither (the server and the
// loader write it with encoding/json or its equal), so one pass that finds
// nothing to change copies the bytes; anything else goes to json.Marshal.
// It is false where json.Marshal fails.
func appendRaw(b []byte, v json.RawMessage) ([]byte, bool) {
	if v == nil {
		return append(b, "null"...), true
	}
	if plainJSON(v) {
		return append(b, v...), true
	}
	out, err := json.Marshal(v)
	if err != nil {
		return b, false
	}
	return append(b, out...), true
}

// plainJSON says v is not empty and has no whitespace outside its strings
// and no <, >, & or U+2028/U+2029 (whose UTF-8 starts with 0xE2) in them;
// it assumes v is valid JSON.
func plainJSON(v []byte) bool {
	if len(v) == 0 {
		return false
	}
	in := false
	for i := 0; i < len(v); i++ {
		c := v[i]
		if in {
			switch c {
			case '\\':
				i++
			case '"':
				in = false
			case '<', '>', '&', 0xE2:
				return false
			}
			continue
		}
		switch c {
		case '"':
			in = true
		case ' ', '\t', '\n', '\r':
			return false
		}
	}
	return true
}

// Changes compares an object's prior and next JSON attribute by attribute and
// returns the prior value of every attribute that differs (null for an
// attribute that is new). An empty map means the two are equal. Both must
// be valid JSON (as a store keeps and stages it); one that is not an
// object is ErrInvalid.
func Changes(prior, next json.RawMessage) (map[string]json.RawMessage, error) {
	if bytes.Equal(prior, next) && json.Valid(next) {
		// The common case of a reload: nothing to decode.
		return map[string]json.RawMessage{}, nil
	}
	// Both are checked JSON objects when a sync compares them (the store
	// checked each when it took it): their members are found without
	// decoding them, unless a key needs unescaping.
	p, ok := members(prior)
	var n map[string]json.RawMessage
	if ok {
		n, ok = members(next)
	}
	if !ok {
		p, n = nil, nil
		if err := json.Unmarshal(prior, &p); err != nil {
			return nil, fmt.Errorf("%w: stored object is not a JSON object: %v", store.ErrInvalid, err)
		}
		if err := json.Unmarshal(next, &n); err != nil {
			return nil, fmt.Errorf("%w: object data is not a JSON object: %v", store.ErrInvalid, err)
		}
	}
	out := map[string]json.RawMessage{}
	for k, pv := range p {
		nv, ok := n[k]
		if !ok || !sameJSON(pv, nv) {
			out[k] = bytes.Clone(pv)
		}
	}
	for k := range n {
		if _, ok := p[k]; !ok {
			out[k] = json.RawMessage("null")
		}
	}
	return out, nil
}

// members is what json.Unmarshal into a map[string]json.RawMessage gives
// for v, a valid JSON object (the values alias v); false when v is not an
// object or has a key with an escape or a byte outside printable ASCII,
// which json.Unmarshal would rewrite.
func members(v []byte) (map[string]json.RawMessage, bool) {
	i := skipSpace(v, 0)
	if i >= len(v) || v[i] != '{' {
		return nil, false
	}
	out := map[string]json.RawMessage{}
	i = skipSpace(v, i+1)
	if i < len(v) && v[i] == '}' {
		return out, skipSpace(v, i+1) == len(v)
	}
	for {
		if i >= len(v) || v[i] != '"' {
			return nil, false
		}
		start := i + 1
		for i = start; i < len(v) && v[i] != '"'; i++ {
			if c := v[i]; c == '\\' || c < 0x20 || c >= 0x80 {
				return nil, false
			}
		}
		if i >= len(v) {
			return nil, false
		}
		key := string(v[start:i])
		i = skipSpace(v, i+1)
		if i >= len(v) || v[i] != ':' {
			return nil, false
		}
		i = skipSpace(v, i+1)
		end := skipValue(v, i)
		if end <= i {
			return nil, false
		}
		out[key] = v[i:end:end]
		i = skipSpace(v, end)
		if i >= len(v) {
			return nil, false
		}
		switch v[i] {
		case ',':
			i = skipSpace(v, i+1)
		case '}':
			return out, skipSpace(v, i+1) == len(v)
		default:
			return nil, false
		}
	}
}

func skipSpace(v []byte, i int) int {
	for i < len(v) && (v[i] == ' ' || v[i] == '\t' || v[i] == '\n' || v[i] == '\r') {
		i++
	}
	return i
}

// skipValue is the end of the valid JSON value that starts at v[i].
func skipValue(v []byte, i int) int {
	if i >= len(v) {
		return i
	}
	switch v[i] {
	case '"':
		for j := i + 1; j < len(v); j++ {
			switch v[j] {
			case '\\':
				j++
			case '"':
				return j + 1
			}
		}
		return i
	case '{', '[':
		depth := 0
		for j := i; j < len(v); j++ {
			switch v[j] {
			case '"':
				end := skipValue(v, j)
				if end <= j {
					return i
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return j + 1
				}
			}
		}
		return i
	}
	j := i
	for j < len(v) && v[j] != ',' && v[j] != '}' && v[j] != ']' && v[j] != ' ' && v[j] != '\t' && v[j] != '\n' && v[j] != '\r' {
		j++
	}
	return j
}

// sameJSON compares two JSON values regardless of key order and spacing:
// what json.Marshal writes for each decoded is the same, which for decoded
// JSON (no NaN, strings valid UTF-8) is the values being equal, floats bit
// for bit.
func sameJSON(a, b json.RawMessage) bool {
	if bytes.Equal(a, b) {
		return true
	}
	var av, bv any
	if json.Unmarshal(a, &av) != nil || json.Unmarshal(b, &bv) != nil {
		return false
	}
	return sameValue(av, bv)
}

func sameValue(a, b any) bool {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, xv := range x {
			yv, ok := y[k]
			if !ok || !sameValue(xv, yv) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !sameValue(x[i], y[i]) {
				return false
			}
		}
		return true
	case float64:
		y, ok := b.(float64)
		return ok && math.Float64bits(x) == math.Float64bits(y)
	case string:
		y, ok := b.(string)
		return ok && x == y
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case nil:
		return b == nil
	}
	return false
}
