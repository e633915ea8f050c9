package client

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"
)

// fakeQueue is an in-memory task queue with leases, served by a fakeAPI. Its
// clock only moves when a test advances it.
type fakeQueue struct {
	mu    sync.Mutex
	now   time.Time
	lease time.Duration
	tasks []*queued
	acks  map[uuid.UUID][]ackRecord
	// deleteOnLease removes a task from the queue right after it is leased,
	// as an admin deleting it meanwhile would.
	deleteOnLease map[uuid.UUID]bool
	failAcks      int // answer the next failAcks acknowledgement requests with 500
	// newestFirst serves each batch in reverse queue order, as a server
	// that does not sort may: the consumer must restore each tenant's order.
	newestFirst bool
	polls       int
	groupAcks   int
}

type queued struct {
	id, tenant  uuid.UUID
	seq         int64
	body        map[string]any
	leasedUntil time.Time
	done        bool
	deliveries  int
}

type ackRecord struct {
	Status  string
	Message string
	AppID   string
}

func newFakeQueue(f *fakeAPI) *fakeQueue {
	q := &fakeQueue{now: time.Unix(1_700_000_000, 0), lease: time.Minute, acks: map[uuid.UUID][]ackRecord{}, deleteOnLease: map[uuid.UUID]bool{}}
	f.handle("GET", "/tasks", q.list)
	f.handle("PUT", "/tasks/ack", q.ackGroup)
	f.handle("PUT", "/tasks/{id}/ack", q.ackOne)
	return q
}

// add enqueues a task of kind for tenant with the next sequence of that
// tenant.
func (q *fakeQueue) add(tenant uuid.UUID, kind string, extra map[string]any) uuid.UUID {
	q.mu.Lock()
	defer q.mu.Unlock()
	var seq int64 = 1
	for _, t := range q.tasks {
		if t.tenant == tenant && t.seq >= seq {
			seq = t.seq + 1
		}
	}
	id := uuid.New()
	payload := map[string]any{"id": id, "tenant_id": tenant, "sequence": seq, "created_at": "2025-11-16T12:17:04Z", "action": "ADD"}
	for k, v := range extra {
		payload[k] = v
	}
	q.tasks = append(q.tasks, &queued{id: id, tenant: tenant, seq: seq, body: map[string]any{kind: payload}})
	return id
}

func (q *fakeQueue) advance(d time.Duration) {
	q.mu.Lock()
	q.now = q.now.Add(d)
	q.mu.Unlock()
}

func (q *fakeQueue) list(w http.ResponseWriter, r *http.Request) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.polls++
	size, _ := strconv.Atoi(r.URL.Query().Get("page_size"))
	if size == 0 {
		size = 100
	}
	data := []any{}
	for _, t := range q.tasks {
		if len(data) == size {
			break
		}
		if t.done || t.leasedUntil.After(q.now) {
			continue
		}
		t.leasedUntil = q.now.Add(q.lease)
		t.deliveries++
		data = append(data, t.body)
		if q.deleteOnLease[t.id] {
			t.done = true
		}
	}
	if q.newestFirst {
		slices.Reverse(data)
	}
	writeJSON(w, 200, map[string]any{"data": data, "paging": map[string]any{"next": nil}})
}

type ackBody struct {
	TaskID  uuid.UUID `json:"task_id"`
	Status  string    `json:"status"`
	Message string    `json:"message"`
	AppID   string    `json:"$sys.app_id"`
}

// find returns the live task with id; deleted (done without an ack) tasks
// are unknown.
func (q *fakeQueue) find(id uuid.UUID) *queued {
	for _, t := range q.tasks {
		if t.id == id && (!t.done || len(q.acks[id]) > 0) {
			return t
		}
	}
	return nil
}

func (q *fakeQueue) apply(a ackBody) {
	t := q.find(a.TaskID)
	q.acks[a.TaskID] = append(q.acks[a.TaskID], ackRecord{a.Status, a.Message, a.AppID})
	switch a.Status {
	case "success", "error":
		t.done = true
	default:
		t.leasedUntil = time.Time{}
	}
}

func (q *fakeQueue) receipt(a ackBody) map[string]any {
	return map[string]any{"task_id": a.TaskID, "status": a.Status, "acknowledged_at": q.now.UTC().Format(time.RFC3339)}
}

func (q *fakeQueue) ackGroup(w http.ResponseWriter, r *http.Request) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.groupAcks++
	if q.failAcks > 0 {
		q.failAcks--
		writeError(w, 500, "internal_error", "internal server error")
		return
	}
	var body []ackBody
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		writeError(w, 400, "invalid_body", err.Error())
		return
	}
	for _, a := range body {
		if q.find(a.TaskID) == nil {
			writeError(w, 404, "not_found", fmt.Sprintf("task %s not found; no task was acknowledged", a.TaskID))
			return
		}
	}
	out := []any{}
	for _, a := range body {
		q.apply(a)
		out = append(out, q.receipt(a))
	}
	writeJSON(w, 200, map[string]any{"data": out})
}

func (q *fakeQueue) ackOne(w http.ResponseWriter, r *http.Request) {
	q.mu.Lock()
	defer q.mu.Unlock()
	id, err := uuid.Parse(r.PathValue("id"))
	var a ackBody
	if err == nil {
		err = json.NewDecoder(r.Body).Decode(&a)
	}
	if err != nil {
		writeError(w, 400, "invalid_body", err.Error())
		return
	}
	a.TaskID = id
	if q.find(id) == nil {
		writeError(w, 404, "not_found", "task not found")
		return
	}
	q.apply(a)
	writeJSON(w, 200, map[string]any{"data": q.receipt(a)})
}

// snapshot returns the acknowledgements recorded so far.
func (q *fakeQueue) snapshot() map[uuid.UUID][]ackRecord {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := make(map[uuid.UUID][]ackRecord, len(q.acks))
	for k, v := range q.acks {
		out[k] = append([]ackRecord(nil), v...)
	}
	return out
}
