package store

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/google/uuid"
)

// This file builds the payloads of the tasks a store enqueues, so that every
// implementation enqueues exactly the same events.

// Actions of the tasks the stores enqueue.
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
func Topic(kind Kind, subtype string) string {
	if (kind == KindPerson || kind == KindOrg) && subtype != "" {
		return "RDM:" + subtype
	}
	return "RDM:" + string(kind)
}

// LifecycleTask is a lifecycle_event task with this action.
func LifecycleTask(action, driver string) NewTask {
	p, _ := json.Marshal(map[string]string{"action": action})
	return NewTask{Kind: TaskLifecycle, Driver: driver, Payload: p}
}

// SyncTask is a sync_event task of a sync group.
func SyncTask(action string, group uuid.UUID, origin, driver string) NewTask {
	p, _ := json.Marshal(map[string]string{"action": action, "group_id": group.String(), "origin": origin})
	return NewTask{Kind: TaskSync, Driver: driver, Payload: p}
}

// DataTask is a data_event task: data is the object's current JSON (its prior
// JSON for a DELETE), changes the prior values of the attributes a CHANGE
// changed.
func DataTask(action string, o Object, data json.RawMessage, changes map[string]json.RawMessage, group uuid.UUID, driver string) NewTask {
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
	return NewTask{Kind: TaskData, Driver: driver, Payload: p}
}

// Changes compares an object's prior and next JSON attribute by attribute and
// returns the prior value of every attribute that differs (null for an
// attribute that is new). An empty map means the two are equal.
func Changes(prior, next json.RawMessage) (map[string]json.RawMessage, error) {
	var p, n map[string]json.RawMessage
	if err := json.Unmarshal(prior, &p); err != nil {
		return nil, fmt.Errorf("%w: stored object is not a JSON object: %v", ErrInvalid, err)
	}
	if err := json.Unmarshal(next, &n); err != nil {
		return nil, fmt.Errorf("%w: object data is not a JSON object: %v", ErrInvalid, err)
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

// CheckObject validates what every store requires of an object before
// keeping it.
func CheckObject(o Object) error {
	if o.ID == uuid.Nil {
		return fmt.Errorf("%w: object without id", ErrInvalid)
	}
	switch o.Kind {
	case KindOrg, KindPerson, KindCourse, KindSection, KindTerm, KindGradingCategory, KindPersonOrgMembership, KindPersonSectionMembership:
	default:
		return fmt.Errorf("%w: object %s has unknown kind %q", ErrInvalid, o.ID, o.Kind)
	}
	if !json.Valid(o.Data) || len(bytes.TrimSpace(o.Data)) == 0 || bytes.TrimSpace(o.Data)[0] != '{' {
		return fmt.Errorf("%w: object %s data is not a JSON object", ErrInvalid, o.ID)
	}
	return nil
}
