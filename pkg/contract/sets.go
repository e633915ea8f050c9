package contract

import (
	"fmt"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// A set is what applies to one position of a document: the schemas the
// parent's members hand to it (its roots, for null, which kin-openapi judges
// on the allOf tree) and their flattening (its members, every one checked on
// its own). Sets are built once, at compile time, and shared; a document is
// validated by walking them in step with its tokens.
type set struct {
	roots   []root
	members []member
	skip    bool // nothing applies: the value is only read
	// plainStr: every member takes any string (type only), so a string
	// value is only read
	plainStr bool
	hasFall  bool // a member is validated by kin-openapi

	keys  map[string]*keyInfo
	byLen [][]*keyInfo // keys by length, when table has collisions
	// table finds a declared key by its length and end bytes with one
	// comparison (built collision-free, else nil): cheaper than hashing.
	table  []*keyInfo
	mask   uint32
	nkeys  int
	other  *keyInfo // undeclared keys
	items  *set
	objMem []int // members with object checks (non-empty, not fallback)
}

type root struct {
	n      *node
	parent int // member of the parent set it comes from
	lo     int // index of its first member
}

type member struct {
	n       *node
	parent  int
	reqKey  []int  // key index of each required property
	reqSkip []bool // required property exempt (readOnly in a request, writeOnly in a response)
}

type keyInfo struct {
	idx    int
	name   string
	child  *set
	denied []int // members that forbid the key (additionalProperties: false)
	ro     []int // members for which the property must not be sent in this direction
}

type setBuilder struct {
	c    *compiler
	memo map[string]*set
}

func (b *setBuilder) key(roots []root) string {
	var sb strings.Builder
	for _, r := range roots {
		fmt.Fprintf(&sb, "%p:%d;", r.n, r.parent)
	}
	return sb.String()
}

// build returns the set of roots (memoized: recursive schemas end).
func (b *setBuilder) build(roots []root) *set {
	k := b.key(roots)
	if s, ok := b.memo[k]; ok {
		return s
	}
	s := &set{}
	b.memo[k] = s
	for i := range roots {
		r := &roots[i]
		r.lo = len(s.members)
		var flat []flatMember
		flatten(r.n, nil, &flat)
		for _, f := range flat {
			s.members = append(s.members, member{n: f.n, parent: r.parent})
			if f.n.fallback {
				s.hasFall = true
			}
		}
		// keep chains for the required exemption
		for j, f := range flat {
			m := &s.members[r.lo+j]
			m.reqSkip = make([]bool, len(f.n.required))
			for q, name := range f.n.required {
				m.reqSkip[q] = b.exempt(f.chain, name)
			}
		}
	}
	s.roots = roots
	s.plainStr = true
	for _, m := range s.members {
		n := m.n
		if n.fallback || !n.empty && (len(n.enum) > 0 || n.types&tString == 0 || n.minLen != 0 || n.maxLen != nil || n.strFormat != nil) {
			s.plainStr = false
		}
	}
	// With no roots the value is only read. (A root that is the empty schema
	// still refuses null, so it counts.)
	s.skip = len(roots) == 0
	if s.skip {
		return s
	}

	// Object keys: every property or required name of any member.
	names := map[string]bool{}
	for mi, m := range s.members {
		if m.n.fallback || m.n.empty {
			continue
		}
		s.objMem = append(s.objMem, mi)
		for _, p := range m.n.propNames {
			names[p] = true
		}
		for _, r := range m.n.required {
			names[r] = true
		}
	}
	sorted := make([]string, 0, len(names))
	for n := range names {
		sorted = append(sorted, n)
	}
	slices.Sort(sorted)
	s.keys = make(map[string]*keyInfo, len(sorted))
	for i, name := range sorted {
		s.keys[name] = b.keyInfo(s, name, i, true)
	}
	s.nkeys = len(sorted)
	s.buildTable(sorted)
	for _, name := range sorted {
		for len(s.byLen) <= len(name) {
			s.byLen = append(s.byLen, nil)
		}
		s.byLen[len(name)] = append(s.byLen[len(name)], s.keys[name])
	}
	s.other = b.keyInfo(s, "", -1, false)
	for mi := range s.members {
		m := &s.members[mi]
		m.reqKey = make([]int, len(m.n.required))
		for q, name := range m.n.required {
			m.reqKey[q] = s.keys[name].idx
		}
	}

	var itemRoots []root
	for mi, m := range s.members {
		if m.n.fallback || m.n.empty || m.n.items == nil {
			continue
		}
		itemRoots = append(itemRoots, root{n: m.n.items, parent: mi})
	}
	s.items = b.build(itemRoots)
	return s
}

func slot(key string) uint32 {
	n := uint32(len(key))
	if n == 0 {
		return 0
	}
	return n*0x9E3779B1 ^ uint32(key[0])*0x85EBCA6B ^ uint32(key[n-1])*0xC2B2AE35 ^ uint32(key[n/2])*0x27D4EB2F
}

func (s *set) buildTable(names []string) {
	if len(names) == 0 {
		return
	}
	for size := uint32(8); size <= 1<<12; size <<= 1 {
		if size < uint32(2*len(names)) {
			continue
		}
		table := make([]*keyInfo, size)
		ok := true
		for _, n := range names {
			i := slot(n) & (size - 1)
			if table[i] != nil {
				ok = false
				break
			}
			table[i] = s.keys[n]
		}
		if ok {
			s.table, s.mask = table, size-1
			return
		}
	}
}

// lookup finds a declared key.
func (s *set) lookup(key []byte) *keyInfo {
	if s.table != nil {
		var h uint32
		if n := uint32(len(key)); n > 0 {
			h = n*0x9E3779B1 ^ uint32(key[0])*0x85EBCA6B ^ uint32(key[n-1])*0xC2B2AE35 ^ uint32(key[n/2])*0x27D4EB2F
		}
		if ki := s.table[h&s.mask]; ki != nil && string(key) == ki.name {
			return ki
		}
		return nil
	}
	if len(key) >= len(s.byLen) {
		return nil
	}
	for _, ki := range s.byLen[len(key)] {
		if string(key) == ki.name {
			return ki
		}
	}
	return nil
}

// keyInfo says what applies to the value of key name (declared) or of any
// undeclared key.
func (b *setBuilder) keyInfo(s *set, name string, idx int, declared bool) *keyInfo {
	ki := &keyInfo{idx: idx, name: name}
	var roots []root
	for _, mi := range s.objMem {
		n := s.members[mi].n
		if p, ok := n.props[name]; ok && declared {
			roots = append(roots, root{n: p, parent: mi})
			if b.c.dir == Request && p.readOnly || b.c.dir == Response && p.writeOnly {
				ki.ro = append(ki.ro, mi)
			}
			continue
		}
		switch {
		case n.addl != nil:
			roots = append(roots, root{n: n.addl, parent: mi})
		case n.addlDenied:
			ki.denied = append(ki.denied, mi)
		}
	}
	ki.child = b.build(roots)
	return ki
}

// exempt reports whether a required property is not required in this
// direction because a schema applied to the same value (the chain from the
// root down to the member, and their allOf branches) declares it readOnly
// (requests) or writeOnly (responses): kin-openapi's readOnlyOrWriteOnlyInAllOf.
func (b *setBuilder) exempt(chain []*node, name string) bool {
	var seen []*openapi3.Schema
	var declares func(s *openapi3.Schema) bool
	declares = func(s *openapi3.Schema) bool {
		if s == nil || slices.Contains(seen, s) {
			return false
		}
		seen = append(seen, s)
		if p := s.Properties[name]; p != nil && p.Value != nil {
			if b.c.dir == Request && p.Value.ReadOnly || b.c.dir == Response && p.Value.WriteOnly {
				return true
			}
		}
		for _, a := range s.AllOf {
			if a != nil && declares(a.Value) {
				return true
			}
		}
		return false
	}
	for _, n := range chain {
		if declares(n.schema) {
			return true
		}
	}
	return false
}
