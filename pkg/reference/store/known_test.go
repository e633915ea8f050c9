package store

import (
	"errors"
	"fmt"
	"testing"

	"github.com/google/uuid"
)

func TestKnown(t *testing.T) {
	var k Known
	ids := map[Kind]uuid.UUID{}
	for i, kind := range knownKinds {
		ids[kind] = uuid.New()
		k.Add(ids[kind], int64(10*(i+1)), kind, uint64(i+100), true)
	}
	invalid := uuid.New()
	k.Add(invalid, 5, KindPerson, 7, false)
	if k.Len() != len(knownKinds)+1 {
		t.Fatalf("Len %d", k.Len())
	}
	// Every kind, memberships too, is found unchanged with its sum, kind
	// and id, and only then.
	for i, kind := range knownKinds {
		id, sum := ids[kind], uint64(i+100)
		other := KindOrg
		if kind == KindOrg {
			other = KindPerson
		}
		if k.Unchanged(uuid.New(), kind, sum, 1) {
			t.Errorf("%s: an unknown id found unchanged", kind)
		}
		if !k.Unchanged(id, kind, sum, int64(i+1)) {
			t.Errorf("%s: not found unchanged", kind)
		}
		if !k.Unchanged(id, kind, sum, 99) {
			t.Errorf("%s: staged again as stored, not found unchanged", kind)
		}
		if k.Unchanged(id, other, sum, 100) {
			t.Errorf("%s: found unchanged as a %s", kind, other)
		}
		// Once staged otherwise, never unchanged again.
		if k.Unchanged(id, kind, sum, 101) {
			t.Errorf("%s: found unchanged after a change was staged", kind)
		}
	}
	if k.Unchanged(invalid, KindPerson, 7, 1) {
		t.Error("an object without a valid sum found unchanged")
	}
}

func TestKnownTouchAndUntouched(t *testing.T) {
	var k Known
	var persons []uuid.UUID
	for i := range 6 {
		id := uuid.New()
		persons = append(persons, id)
		k.Add(id, int64(60-10*i), KindPerson, uint64(i), true) // seqs out of order
	}
	org := uuid.New()
	k.Add(org, 1, KindOrg, 0, true)
	if !k.Unchanged(persons[0], KindPerson, 0, 7) || k.Unchanged(persons[1], KindPerson, 99, 8) {
		t.Fatal("setup")
	}
	// Touching what was found unchanged asks for its restaging, once, at
	// the ord of its first staging.
	if seq, ord, restage := k.Touch(persons[0]); !restage || seq != 60 || ord != 7 {
		t.Errorf("Touch after unchanged: seq %d, ord %d, restage %v", seq, ord, restage)
	}
	if _, _, restage := k.Touch(persons[0]); restage {
		t.Error("restaged twice")
	}
	if _, _, restage := k.Touch(persons[1]); restage {
		t.Error("an object staged changed asks for restaging")
	}
	if _, _, restage := k.Touch(persons[2]); restage {
		t.Error("an untouched object asks for restaging")
	}
	if _, _, restage := k.Touch(uuid.New()); restage {
		t.Error("an unknown id asks for restaging")
	}
	// Untouched: persons 3, 4, 5 (seqs 30, 20, 10), in seq order, after
	// the seq given; not the org.
	if got := fmt.Sprint(k.Untouched(KindPerson, 0)); got != "[10 20 30]" {
		t.Errorf("Untouched(Person, 0) = %s", got)
	}
	if got := fmt.Sprint(k.Untouched(KindPerson, 10)); got != "[20 30]" {
		t.Errorf("Untouched(Person, 10) = %s", got)
	}
	if got := fmt.Sprint(k.Untouched(KindOrg, 0)); got != "[1]" {
		t.Errorf("Untouched(Org, 0) = %s", got)
	}
}

// unputChunks hands out the candidates a chunk at a time with what is
// still wanted, and stops at the limit.
func TestUnputChunks(t *testing.T) {
	var calls []string
	remove := func(seqs []int64, limit int) ([]int64, error) {
		calls = append(calls, fmt.Sprint(seqs, limit))
		return seqs[:min(len(seqs), limit)], nil
	}
	got, err := unputChunks([]int64{1, 2, 3, 4, 5}, 2, 3, remove)
	if err != nil || fmt.Sprint(got) != "[1 2 3]" || fmt.Sprint(calls) != "[[1 2] 3 [3 4] 1]" {
		t.Errorf("got %v, %v after calls %v; want [1 2 3] after [1 2] 3, [3 4] 1", got, err, calls)
	}
	if _, err := unputChunks([]int64{1}, 2, 3, func([]int64, int) ([]int64, error) { return nil, errors.New("down") }); err == nil {
		t.Error("an error from remove was lost")
	}
}

// RemoveUnput asks once with no seqs when no roster is known; with one, it
// gives only the untouched objects' seqs of the kind, asks nothing when
// there are none, and touches what was removed.
func TestRemoveUnput(t *testing.T) {
	var calls []string
	remove := func(seqs []int64, limit int) ([]int64, error) {
		calls = append(calls, fmt.Sprint(seqs, limit))
		return seqs[:min(len(seqs), limit)], nil
	}
	got, err := RemoveUnput(nil, KindPerson, 0, 3, func(int64) uuid.UUID { return uuid.Nil }, func(seqs []int64, limit int) ([]int64, error) {
		calls = append(calls, fmt.Sprint(seqs, limit))
		return []int64{7}, nil
	})
	if err != nil || fmt.Sprint(got) != "[7]" || fmt.Sprint(calls) != "[[] 3]" {
		t.Errorf("no roster: got %v, %v after calls %v; want [7] after one call with none", got, err, calls)
	}
	k := NewKnown(4)
	ids := map[int64]uuid.UUID{}
	for seq, kind := range map[int64]Kind{1: KindPerson, 2: KindPerson, 3: KindPerson, 4: KindOrg} {
		ids[seq] = uuid.New()
		k.Add(ids[seq], seq, kind, 1, true)
	}
	k.Touch(ids[2])
	id := func(seq int64) uuid.UUID { return ids[seq] }
	calls = nil
	got, err = RemoveUnput(k, KindPerson, 0, 10, id, remove)
	if err != nil || fmt.Sprint(got) != "[1 3]" || fmt.Sprint(calls) != "[[1 3] 10]" {
		t.Errorf("with a roster: got %v, %v after calls %v; want [1 3] after [1 3] 10", got, err, calls)
	}
	calls = nil
	if got, err := RemoveUnput(k, KindPerson, 0, 10, id, remove); err != nil || len(got) != 0 || len(calls) != 0 {
		t.Errorf("again: got %v, %v after calls %v; want nothing asked (what was removed is touched)", got, err, calls)
	}
}
