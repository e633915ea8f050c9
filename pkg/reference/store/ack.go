package store

import (
	"fmt"
	"time"

	"github.com/google/uuid"
)

// Queued is what acknowledging needs of a task still in the queue.
type Queued struct {
	TenantID uuid.UUID
	Sequence int64
	Kind     TaskKind
}

// Recorded is the first terminal outcome kept for a task no longer queued.
type Recorded struct {
	Status         AckStatus
	AcknowledgedAt time.Time
}

// AckPlan is what a batch of acknowledgements does, decided once for every
// store by PlanAcks: the store only reads the two maps it takes and writes
// what the plan says, in the same transaction.
type AckPlan struct {
	Receipts []Receipt      // one per acknowledgement, in order
	Remove   []uuid.UUID    // success and error: out of the queue
	Release  []uuid.UUID    // retry and reauthenticate: visible again at once
	History  []HistoryEntry // every outcome but a plain retry, in acknowledgement order
}

// CheckAcks refuses (ErrInvalid), before a store opens a transaction, an
// acknowledgement whose outcome is none of the four, whose message or app id
// is not UTF-8 (U+0000 is kept: see CheckText), and a batch that names a
// task twice: one task gets one outcome per batch, whoever calls the store.
func CheckAcks(acks []Ack) error {
	for _, a := range acks {
		switch a.Status {
		case AckSuccess, AckError, AckRetry, AckReauthenticate:
		default:
			return fmt.Errorf("%w: unknown status %q", ErrInvalid, a.Status)
		}
		if err := CheckText("message", a.Message); err != nil {
			return fmt.Errorf("task %s: %w", a.TaskID, err)
		}
		if err := CheckText("app id", a.AppID); err != nil {
			return fmt.Errorf("task %s: %w", a.TaskID, err)
		}
	}
	return checkDistinctAcks(acks)
}

// checkDistinctAcks refuses a batch that names a task twice (ErrInvalid).
func checkDistinctAcks(acks []Ack) error {
	if len(acks) < 2 {
		return nil
	}
	seen := make(map[uuid.UUID]int, len(acks))
	for i, a := range acks {
		if j, dup := seen[a.TaskID]; dup {
			return fmt.Errorf("%w: task %s is acknowledged twice (items %d and %d); no task was acknowledged", ErrInvalid, a.TaskID, j, i)
		}
		seen[a.TaskID] = i
	}
	return nil
}

// PlanAcks decides the acknowledgements of Store.AckTasks from the tasks of
// the batch still queued and the recorded outcomes of those that are not.
// A task in neither is a *TaskError wrapping ErrNotFound; one recorded with
// another outcome is a *TaskError wrapping ErrConflict; one recorded with the
// same outcome answers the first receipt. A batch naming a task twice is
// ErrInvalid, as in CheckAcks. Any error means nothing is acknowledged.
func PlanAcks(acks []Ack, queued map[uuid.UUID]Queued, recorded map[uuid.UUID]Recorded, now time.Time) (AckPlan, error) {
	if err := checkDistinctAcks(acks); err != nil {
		return AckPlan{}, err
	}
	if !now.IsZero() {
		now = time.Unix(0, now.UnixNano()).UTC() // as stores keep it: Unix nanoseconds
	}
	p := AckPlan{Receipts: make([]Receipt, len(acks))}
	for i, a := range acks {
		q, ok := queued[a.TaskID]
		if !ok {
			r, ok := recorded[a.TaskID]
			if !ok {
				return AckPlan{}, &TaskError{ID: a.TaskID, Err: ErrNotFound}
			}
			if r.Status != a.Status {
				return AckPlan{}, &TaskError{ID: a.TaskID, Err: ErrConflict, Status: r.Status}
			}
			p.Receipts[i] = Receipt{TaskID: a.TaskID, Status: a.Status, AcknowledgedAt: r.AcknowledgedAt}
			continue
		}
		if a.Status.Terminal() {
			p.Remove = append(p.Remove, a.TaskID)
		} else {
			p.Release = append(p.Release, a.TaskID)
		}
		// A plain retry leaves no trace; every other outcome is history.
		if a.Status != AckRetry {
			p.History = append(p.History, HistoryEntry{
				TaskID: a.TaskID, TenantID: q.TenantID, Sequence: q.Sequence, Kind: q.Kind,
				Status: a.Status, Message: a.Message, AppID: a.AppID, AcknowledgedAt: now,
			})
		}
		p.Receipts[i] = Receipt{TaskID: a.TaskID, Status: a.Status, AcknowledgedAt: now}
	}
	return p, nil
}
