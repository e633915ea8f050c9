package store_test

import (
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/interop-data/interop/pkg/reference/store"
)

// PlanAcks itself refuses a batch naming a task twice, so that a store (or
// any caller) that plans without CheckAcks cannot record two outcomes for
// one task; it used to plan both.
func TestPlanAcksRefusesATaskTwice(t *testing.T) {
	t.Parallel()
	id := uuid.New()
	queued := map[uuid.UUID]store.Queued{id: {TenantID: uuid.New(), Sequence: 1, Kind: store.TaskLifecycle}}
	acks := []store.Ack{{TaskID: id, Status: store.AckSuccess}, {TaskID: id, Status: store.AckError}}
	plan, err := store.PlanAcks(acks, queued, nil, time.Unix(1, 0))
	if !errors.Is(err, store.ErrInvalid) || len(plan.History) != 0 || len(plan.Remove) != 0 {
		t.Fatalf("PlanAcks = %+v, %v; want ErrInvalid and no plan", plan, err)
	}
	if err := store.CheckAcks(acks); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("CheckAcks = %v, want ErrInvalid", err)
	}
	if _, err := store.PlanAcks(acks[:1], queued, nil, time.Unix(1, 0)); err != nil {
		t.Fatalf("one acknowledgement: %v", err)
	}
}

// The string rule every store applies.
func TestCheckName(t *testing.T) {
	t.Parallel()
	for s, ok := range map[string]bool{"": true, "driver-1": true, "café ☃": true, "a\x00b": false, "a\xffb": false, "caf\xc3": false} {
		if got := store.Storable(s); got != ok {
			t.Errorf("Storable(%+q) = %v, want %v", s, got, ok)
		}
		if err := store.CheckName("f", s); (err == nil) != ok || (err != nil && !errors.Is(err, store.ErrInvalid)) {
			t.Errorf("CheckName(%+q) = %v", s, err)
		}
	}
	if err := store.CheckText("message", "a\x00b"); err != nil {
		t.Errorf("CheckText refuses U+0000: %v", err)
	}
	if err := store.CheckText("message", "a\xffb"); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("CheckText(invalid UTF-8) = %v", err)
	}
}
