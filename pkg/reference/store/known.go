package store

import (
	"slices"

	"github.com/google/uuid"
)

// Known is what a sync read of a tenant's stored objects once it had
// staged enough to make it worth reading: per object its id, seq, kind and
// a sum of its stored content and links. A store keeps it in memory for
// the sync and stages only the objects whose sum differs: a nightly
// export is almost all unchanged, and an unchanged object then costs a
// lookup here instead of a staged row and a probe of the roster. It also
// knows which stored objects nothing staged, Put or removed yet: the only
// ones RemoveUnput may still delete.
//
// Known is correct only while no one else writes the tenant's roster (a
// sync holds the tenant) and the sync reports every write that is not a
// staging of an object it found unchanged (Touch).
type Known struct {
	// One map lookup per staged object: a binary search of a sorted
	// array this size missed the cache at every step, and took 2 s of a
	// 100,000-user reload.
	entries map[uuid.UUID]knownEntry
}

// KnownEntrySize is about the memory an entry takes in the map (measured:
// 82 bytes at 715,557 entries), for a store's bound.
const KnownEntrySize = 80

type knownEntry struct {
	seq   int64
	sum   uint64
	ord   int64 // where it was staged, once found unchanged
	kind  uint8 // kindIndex
	valid bool  // the sum stands for what is stored
	state knownState
}

type knownState uint8

const (
	untouched knownState = iota
	unchanged            // staged as it was stored
	touched              // staged otherwise, Put or removed
)

// knownKinds are the kinds an object may have (CheckObject).
var knownKinds = append(slices.Clip(servedKinds), KindPersonOrgMembership, KindPersonSectionMembership)

// kindIndex returns the place of k among knownKinds, plus one; 0 for any
// other.
func kindIndex(k Kind) uint8 {
	if i := slices.Index(knownKinds, k); i >= 0 {
		return uint8(i + 1)
	}
	return 0
}

// NewKnown returns a Known with room for n objects, so that recording
// them does not grow the map step by step.
func NewKnown(n int) *Known {
	return &Known{entries: make(map[uuid.UUID]knownEntry, n)}
}

// Add records a stored object. valid is false when its sum does not stand
// for it (a digest the store lacks): it is then never found unchanged.
func (k *Known) Add(id uuid.UUID, seq int64, kind Kind, sum uint64, valid bool) {
	if k.entries == nil {
		k.entries = map[uuid.UUID]knownEntry{}
	}
	k.entries[id] = knownEntry{seq: seq, sum: sum, kind: kindIndex(kind), valid: valid}
}

// Len returns the number of objects recorded.
func (k *Known) Len() int { return len(k.entries) }

// Unchanged reports whether an object of this kind with this sum, staged
// now under ord, equals what is stored under id and needs no write: it was
// stored with that sum and nothing since touched it. It then counts as
// staged (under the first such ord). Otherwise the object under id (if
// any) is touched: it will be written.
func (k *Known) Unchanged(id uuid.UUID, kind Kind, sum uint64, ord int64) bool {
	e, ok := k.entries[id]
	if !ok {
		return false
	}
	same := e.state != touched && e.valid && e.sum == sum && e.kind == kindIndex(kind) && e.kind != 0
	switch {
	case !same:
		e.state = touched
	case e.state == untouched:
		e.state, e.ord = unchanged, ord
	default:
		return true
	}
	k.entries[id] = e
	return same
}

// Touch records that the object under id is about to be written other
// than by staging it as found unchanged: it is never found unchanged
// again. When it was found so before, restage is true: the store must
// stage what is stored under seq in its place (ord) before it writes the
// object, so that Apply puts it back as it was staged.
func (k *Known) Touch(id uuid.UUID) (seq, ord int64, restage bool) {
	e, ok := k.entries[id]
	if !ok {
		return 0, 0, false
	}
	restage = e.state == unchanged
	e.state = touched
	k.entries[id] = e
	return e.seq, e.ord, restage
}

// Staged reports whether the object under id was found unchanged under an
// ord after after, and not touched since: it counts as staged there, but
// the store staged no row for it.
func (k *Known) Staged(id uuid.UUID, after int64) bool {
	e, ok := k.entries[id]
	return ok && e.state == unchanged && e.ord > after
}

// Untouched returns, in order, the seqs after after of the objects of kind
// that nothing staged, Put or removed since they were recorded: those that
// RemoveUnput may delete.
func (k *Known) Untouched(kind Kind, after int64) []int64 {
	ki := kindIndex(kind)
	var seqs []int64
	for _, e := range k.entries {
		if e.state == untouched && e.kind == ki && e.seq > after {
			seqs = append(seqs, e.seq)
		}
	}
	slices.Sort(seqs)
	return seqs
}

// unputChunk is how many of the known roster's untouched seqs one of a
// store's RemoveUnput statements is given.
const unputChunk = 4096

// RemoveUnput is what a store's RemoveUnput does with the roster it knows,
// k (nil when it read none). remove deletes at most limit objects of kind
// that were neither put nor staged (after the last one a call removed),
// among seqs when seqs is not empty, and returns them in seq order. With a
// roster, remove is given the seqs of its untouched objects after after, a
// chunk at a time, until limit objects are removed, and what it removed is
// touched, never to be found unchanged; without one, remove is called once
// with no seqs and the store's own conditions decide.
func RemoveUnput[T any](k *Known, kind Kind, after int64, limit int, id func(T) uuid.UUID, remove func(seqs []int64, limit int) ([]T, error)) ([]T, error) {
	if k == nil {
		return remove(nil, limit)
	}
	got, err := unputChunks(k.Untouched(kind, after), unputChunk, limit, remove)
	if err != nil {
		return nil, err
	}
	for _, o := range got {
		k.Touch(id(o))
	}
	return got, nil
}

// unputChunks gathers what remove removes, up to limit, calling it with at
// most chunk of cands at a time and the number still wanted; with no cands
// it removes nothing.
func unputChunks[T any](cands []int64, chunk, limit int, remove func(seqs []int64, limit int) ([]T, error)) ([]T, error) {
	var got []T
	for len(cands) > 0 && len(got) < limit {
		seqs := cands[:min(len(cands), chunk)]
		page, err := remove(seqs, limit-len(got))
		if err != nil {
			return nil, err
		}
		got = append(got, page...)
		cands = cands[len(seqs):]
	}
	return got, nil
}
