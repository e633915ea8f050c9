package postgres

import (
	"encoding/binary"

	"github.com/google/uuid"
)

// idFilter is a Bloom filter of the ids a fresh sync has written: each
// chunk asks the database about those of its ids the filter may hold (a
// few false positives, and the ids really written twice) instead of all of
// them. Those probes reach random leaves of the (tenant_id, id) index, as
// many as the chunk's inserts do, which once the index outgrows
// shared_buffers are reads. It grows as a list of filters, each twice the
// size of the last, so that a small sync allocates little: an id is added
// to the last, and may be held when any has it. 16 bits and 4 hashes per
// id give each filter a false-positive rate of 0.24%.
type idFilter struct {
	parts []bloomPart
}

type bloomPart struct {
	bits []uint64
	n    int // ids added
	max  int // ids it takes before the next part starts
}

const (
	bloomFirstWords = 1 << 10 // 64 Kibit, 4,096 ids
	bloomBitsPerID  = 16
	bloomHashes     = 4
)

func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// hashes derives the filter's two base hashes from an id (which may be
// time-ordered, hence the mixing).
func hashes(id uuid.UUID) (uint64, uint64) {
	lo, hi := binary.LittleEndian.Uint64(id[:8]), binary.LittleEndian.Uint64(id[8:])
	return mix64(lo ^ mix64(hi)), mix64(hi+0x9e3779b97f4a7c15) | 1
}

func (p *bloomPart) has(h1, h2 uint64) bool {
	m := uint64(len(p.bits) * 64)
	for i := uint64(0); i < bloomHashes; i++ {
		b := (h1 + i*h2) % m
		if p.bits[b/64]&(1<<(b%64)) == 0 {
			return false
		}
	}
	return true
}

// add records id.
func (f *idFilter) add(id uuid.UUID) {
	if len(f.parts) == 0 || f.parts[len(f.parts)-1].n >= f.parts[len(f.parts)-1].max {
		words := bloomFirstWords << len(f.parts)
		f.parts = append(f.parts, bloomPart{bits: make([]uint64, words), max: words * 64 / bloomBitsPerID})
	}
	p := &f.parts[len(f.parts)-1]
	h1, h2 := hashes(id)
	m := uint64(len(p.bits) * 64)
	for i := uint64(0); i < bloomHashes; i++ {
		b := (h1 + i*h2) % m
		p.bits[b/64] |= 1 << (b % 64)
	}
	p.n++
}

// mayHave reports whether id may have been added; false means it was not.
func (f *idFilter) mayHave(id uuid.UUID) bool {
	h1, h2 := hashes(id)
	for i := range f.parts {
		if f.parts[i].has(h1, h2) {
			return true
		}
	}
	return false
}
