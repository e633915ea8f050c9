package reference

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/google/uuid"

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
// changed.
func DataTask(action string, o store.Object, data json.RawMessage, changes map[string]json.RawMessage, group uuid.UUID, driver string) store.NewTask {
	ev := struct {
		Action     string                     `json:"action"`
		ObjectID   string                     `json:"object_id"`
		ObjectType string                     `json:"object_type"`
		GroupID    string                     `json:"group_id"`
		Label      string                     `json:"label,omitempty"`
		Data       json.RawMessage            `json:"data,omitempty"`
		Changes    map[string]json.RawMessage `json:"changes,omitempty"`
	}{action, o.ID.String(), Topic(o.Kind, o.Subtype), group.String(), o.Label, data, changes}
	p, _ := json.Marshal(ev)
	return store.NewTask{Kind: store.TaskData, Driver: driver, Payload: p}
}

// Changes compares an object's prior and next JSON attribute by attribute and
// returns the prior value of every attribute that differs (null for an
// attribute that is new). An empty map means the two are equal.
func Changes(prior, next json.RawMessage) (map[string]json.RawMessage, error) {
	if bytes.Equal(prior, next) && json.Valid(next) {
		// The common case of a reload: nothing to decode.
		return map[string]json.RawMessage{}, nil
	}
	var p, n map[string]json.RawMessage
	if err := json.Unmarshal(prior, &p); err != nil {
		return nil, fmt.Errorf("%w: stored object is not a JSON object: %v", store.ErrInvalid, err)
	}
	if err := json.Unmarshal(next, &n); err != nil {
		return nil, fmt.Errorf("%w: object data is not a JSON object: %v", store.ErrInvalid, err)
	}
	out := map[string]json.RawMessage{}
	for k, pv := range p {
		nv, ok := n[k]
		if !ok || !sameJSON(pv, nv) {
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

// sameJSON compares two JSON values regardless of key order and spacing.
func sameJSON(a, b json.RawMessage) bool {
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
