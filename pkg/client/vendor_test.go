package client

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/interop-data/interop/gen/models"
)

// The vendor's published bodies, copied from the reference (§4).
const (
	vendorOrgs = `{
  "data": [
    {
      "$ext": {
        "ANY_ADDITIONAL_PROPERTY": {}
      },
      "id": "2a4a2e06-7755-43bb-9766-4f398079ef8c",
      "name": "Kimono School District"
    }
  ]
}`
	// §4.2 as the source shows it up to where it is cut off, completed with
	// the closing of authenticate (the spec's VendorTasks example).
	vendorTasks = `{
"data": [
{
"lifecycle_event": {
"id": "123e4567-e89b-12d3-a456-426614174000",
"tenant_id": "123e4567-e89b-12d3-a456-426614174000",
"sequence": 1,
"created_at": "2025-11-16T12:17:04.959Z",
"action": "TENANT_INSTALLED"
},
"sync_event": {
"id": "123e4567-e89b-12d3-a456-426614174000",
"tenant_id": "123e4567-e89b-12d3-a456-426614174000",
"sequence": 1,
"created_at": "2025-11-16T12:17:04.959Z",
"action": "SYNC_START",
"group_id": "text",
"origin": "initial"
},
"data_event": {
"id": "123e4567-e89b-12d3-a456-426614174000",
"tenant_id": "123e4567-e89b-12d3-a456-426614174000",
"sequence": 1,
"created_at": "2025-11-16T12:17:04.959Z",
"action": "ADD",
"object_id": "text",
"object_type": "text",
"group_id": "text",
"app_id": "text",
"label": "text",
"data": {
"ANY_ADDITIONAL_PROPERTY": {}
},
"changes": {
"ANY_ADDITIONAL_PROPERTY": {}
}
},
"authenticate": {
"id": "123e4567-e89b-12d3-a456-426614174000",
"tenant_id": "123e4567-e89b-12d3-a456-426614174000"
}
}
],
"paging": {"next": null}
}`
	vendorAck = `{
  "task_id": "123e4567-e89b-12d3-a456-426614174000",
  "status": "success",
  "message": "John Doe added with ID 8858",
  "$sys.app_id": "8858"
}`
)

func TestVendorOrgsExampleDecodes(t *testing.T) {
	f := newFakeAPI(t)
	f.handle("GET", "/rostering/orgs", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(vendorOrgs))
	})
	// The example omits paging (the spec requires it): a documented variant
	// (x-decision wire-tolerance), read as the last page and not reported.
	var mu sync.Mutex
	var reports []*ValidationError
	c := f.client(t, nil, WithValidation(ValidationReport), WithValidationReporter(func(e *ValidationError) {
		mu.Lock()
		reports = append(reports, e)
		mu.Unlock()
	}))
	orgs, err := Collect(c.Orgs(context.Background(), nil))
	if err != nil {
		t.Fatal(err)
	}
	if len(orgs) != 1 || orgs[0].Name != "Kimono School District" || orgs[0].ID.String() != "2a4a2e06-7755-43bb-9766-4f398079ef8c" {
		t.Fatalf("%+v", orgs)
	}
	if _, ok := (orgs[0].Ext)["ANY_ADDITIONAL_PROPERTY"]; !ok {
		t.Fatal("$ext lost")
	}
	if len(reports) != 0 {
		t.Fatalf("a documented variant was reported: %+v", reports[0])
	}
}

func TestVendorTasksExampleDecodes(t *testing.T) {
	var page pageBody[*Task]
	if err := json.Unmarshal([]byte(vendorTasks), &page); err != nil {
		t.Fatal(err)
	}
	task := page.Data[0]
	if task.LifecycleEvent == nil || task.SyncEvent == nil || task.DataEvent == nil || task.Authenticate == nil {
		t.Fatalf("payloads lost: %+v", task)
	}
	if task.Kind != KindLifecycle || task.ID.String() != "123e4567-e89b-12d3-a456-426614174000" || task.Sequence != 1 {
		t.Fatalf("kind %q id %v seq %d", task.Kind, task.ID, task.Sequence)
	}
	if task.DataEvent.Action != "ADD" || task.SyncEvent.Origin != "initial" {
		t.Fatal("fields lost")
	}
	var ack models.TaskAck
	if err := json.Unmarshal([]byte(vendorAck), &ack); err != nil || ack.SysAppID != "8858" || ack.Status != models.Success {
		t.Fatalf("%+v %v", ack, err)
	}
}

func TestUnknownFieldsAndValuesDecode(t *testing.T) {
	f := newFakeAPI(t)
	f.handle("GET", "/rostering/persons", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"data":[{"$sys":{"id":"6f1d2c3b-4a5e-4f60-8a7b-9c0d1e2f3a4b","person_type":"Staff","new_sys_field":1},
			"name":{"first":"Ada","nickname":"A"},"pronouns":"she/her",
			"$schools":[{"$sys":{"id":"8d4f0f4a-1c1b-4b7a-9a43-2f1d6b2c9e11","org_type":"Charter","$membership":{"id":"3e4f5a6b-7c8d-4e9f-a0b1-c2d3e4f5a6b7","type":"NewMembership"}}}]}],
			"paging":{"next":null,"total":1},"meta":{"v":2}}`))
	})
	f.handle("GET", "/tasks", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"data":[
			{"data_event":{"id":"0b6b1f5e-2d0c-4c59-9d43-1f4e8a3d9c01","tenant_id":"5e0c8c53-8c6d-4e43-9a8f-6a1b6f1d2c11","sequence":7,"created_at":"2025-11-16T12:17:05Z","action":"MERGE","object_type":"RDM:Guardian","priority":"high"}},
			{"roster_event":{"id":"7d1c8f0a-52a3-4d8e-b6c6-3d2f9e4a1b02","tenant_id":"5e0c8c53-8c6d-4e43-9a8f-6a1b6f1d2c11","sequence":8}},
			{"schema":"3.0.0","type":"sync_event","id":"2c3d4e5f-6a7b-4c8d-9e0f-1a2b3c4d5e6f","tenant_id":"5e0c8c53-8c6d-4e43-9a8f-6a1b6f1d2c11","sequence":9,"created_at":"2025-11-16T12:17:05Z","action":"SYNC_PAUSE","origin":"Resend"},
			{"schema":"4.0.0","type":"hologram","id":"3a4b5c6d-7e8f-4a9b-8c0d-1e2f3a4b5c6d","tenant_id":"5e0c8c53-8c6d-4e43-9a8f-6a1b6f1d2c11","sequence":10}
		],"paging":{"next":null}}`))
	})
	c := f.client(t, nil)
	persons, err := Collect(c.Persons(context.Background(), nil))
	if err != nil {
		t.Fatal(err)
	}
	if persons[0].Sys.PersonType != "Staff" || (persons[0].Schools)[0].Sys.OrgType != "Charter" {
		t.Fatalf("%+v", persons[0])
	}
	tasks, err := c.ListTasks(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		kind string
		seq  int64
	}{{KindData, 7}, {"roster_event", 8}, {KindSync, 9}, {"hologram", 10}}
	for i, w := range want {
		if tasks[i].Kind != w.kind || tasks[i].Sequence != w.seq || tasks[i].ID == uuid.Nil || tasks[i].TenantID == uuid.Nil {
			t.Errorf("task %d: kind %q seq %d id %v", i, tasks[i].Kind, tasks[i].Sequence, tasks[i].ID)
		}
	}
	if tasks[0].DataEvent.Action != "MERGE" || tasks[2].SyncEvent == nil || tasks[2].SyncEvent.Origin != "Resend" {
		t.Fatal("open vocabulary or flat rendering lost")
	}
}
