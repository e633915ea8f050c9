package contract

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/go-faster/jx"

	"github.com/interop-data/interop/internal/schemaerr"
)

// maxDepth is the deepest nesting a body may have, as encoding/json (and so
// kin-openapi's decoding) allows it.
const maxDepth = 10000

// Schema is one body schema (an operation's request or response media type)
// compiled for one direction. It is immutable and safe for concurrent use.
type Schema struct {
	name string
	dir  Direction
	ref  *openapi3.SchemaRef
	root *set
	opts []openapi3.SchemaValidationOption
}

// Name says where the schema comes from, e.g. "listPersons response 200".
func (sc *Schema) Name() string { return sc.name }

// Validate checks body, a complete JSON document, in one pass over its bytes
// and returns nil or the violation kin-openapi would report first (the same
// JSON pointer and rule; see the package doc for how "first" is defined).
// Syntax errors, a nesting deeper than maxDepth, data after the value and a
// key repeated in one object are violations too (rules "json", "depth",
// "json" and "duplicate").
func (sc *Schema) Validate(body []byte) *Violation {
	return sc.ValidateWithin(body, Limits{})
}

// Limits bounds what a body may cost beyond what its schema says: a server
// applies them to every request body, so that no body costs more than
// reading it. The zero value is what Validate applies: the depth any JSON
// decoder allows, no element limit, and bytes that are not UTF-8 read as
// encoding/json reads them (each one U+FFFD).
type Limits struct {
	// MaxDepth is the deepest nesting of arrays and objects (rule "depth");
	// 0, or more than 10,000, means 10,000.
	MaxDepth int
	// MaxElements is the most elements a body may hold, every string (keys
	// included), number, true, false, null, array and object counting one
	// (rule "elements"); 0 means no limit.
	MaxElements int
	// UTF8 refuses a body that is not UTF-8 (rule "utf8", RFC 8259 §8.1),
	// wherever the bytes are and whatever else is wrong with it.
	UTF8 bool
}

// ValidateWithin is Validate within lim: one pass over the bytes judges the
// limits, the JSON (syntax, data after the value, repeated keys) and the
// schema, and stops at the first fault that is not the schema's. The faults
// come in the order of the bytes, except that a body that is not UTF-8 is
// refused as such whatever comes first (with lim.UTF8).
func (sc *Schema) ValidateWithin(body []byte, lim Limits) *Violation {
	return scan(sc, sc.root, body, lim, true)
}

// CheckLimits reads body as JSON for lim alone, in the same pass as
// ValidateWithin without a schema: the depth, the element count and (with
// lim.UTF8) the encoding. Nothing else is judged: a body that is not JSON
// gets nil as soon as that shows (the parser that reads it next says what is
// wrong), so the limits bound the work up to there, and repeated keys and
// data after the value are left alone. The encoding is checked by a plain
// byte loop beside the pass, which stops after the first value. For bodies
// that are not validated (request validation off, an undeclared media
// type).
func CheckLimits(body []byte, lim Limits) *Violation {
	return scan(nil, anything, body, lim, false)
}

// anything is the set of a value nothing applies to.
var anything = &set{skip: true}

// trailing is the reason of the violation for data after the JSON value.
const trailing = "data after the JSON value"

// scan is the one pass behind ValidateWithin and CheckLimits. strict judges
// the JSON (syntax, data after the value, repeated keys) besides the limits.
func scan(sc *Schema, root *set, body []byte, lim Limits, strict bool) *Violation {
	r := runPool.Get().(*run)
	r.reset(sc, body)
	// Strict, the pass reads every byte of a body it accepts and checks the
	// bytes of its strings as it goes; the limits alone stop after the first
	// value, so the encoding is checked apart (a byte loop, not a second
	// parse).
	r.strict, r.checkUTF8 = strict, lim.UTF8 && strict
	if lim.MaxDepth > 0 && lim.MaxDepth < maxDepth {
		r.maxDepth = lim.MaxDepth
	}
	r.maxElems = lim.MaxElements
	if r.value(root, nil, -1) && strict {
		// Only whitespace may follow the value.
		if err := r.d.Skip(); err != io.EOF {
			r.fatalf("json", trailing)
		}
	}
	v := r.result()
	if !strict && v != nil && v.Rule == "json" {
		v = nil // not JSON: not this pass's to say
	}
	// A strict pass checked every string up to where it stopped (a byte
	// above 0x7f outside a string stops it): only a body it did not read to
	// the end can hide bytes that are not UTF-8.
	if lim.UTF8 && (!strict || r.fatal != nil && r.fatal.Rule != "utf8") && !utf8.Valid(body) {
		v = &Violation{Rule: "utf8", Reason: "body is not UTF-8"}
	}
	r.release()
	runPool.Put(r)
	return v
}

// ValidateWithKin validates body the way kin-openapi does (decode into any,
// then its schema walk) and words the first error as Validate does. It is the
// oracle of the differential tests and the baseline of the benchmarks, not a
// production path: it costs several times Validate.
func (sc *Schema) ValidateWithKin(body []byte) *Violation {
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return &Violation{Rule: "json", Reason: "body is not valid JSON"}
	}
	err := sc.ref.Value.VisitJSON(v, sc.opts...)
	if err == nil {
		return nil
	}
	se, path := schemaerr.First(err)
	if se == nil {
		return &Violation{Rule: "schema", Reason: bound(err.Error(), maxReason)}
	}
	return &Violation{Pointer: schemaerr.Pointer(path), Rule: se.SchemaField, Reason: bound(se.Reason, maxReason)}
}

var runPool = sync.Pool{New: func() any { return &run{d: &jx.Decoder{}} }}

// run is the state of one validation.
type run struct {
	sc     *Schema
	d      *jx.Decoder
	frames []frame  // the arrays and objects being read, outermost first
	seen   []uint64 // per open object, one bit per declared key
	keys   [][]byte // per open object, its undeclared keys (see keySet)

	strict    bool // judge the JSON: syntax, data after the value, repeated keys
	checkUTF8 bool
	maxDepth  int
	maxElems  int // 0: no limit
	elems     int

	scratch  []rankElem
	bestRank []rankElem
	best     site
	hasBest  bool
	bestPtr  string
	fatal    *Violation
}

type frame struct {
	s   *set
	key []byte // the key that leads to this value, or nil
	idx int    // the index that leads to it, or -1
}

// rankElem is one level of an error's position in kin-openapi's visiting
// order: the member (schema) at that level, the phase of its checks, and the
// key or index visited.
type rankElem struct {
	member int
	phase  int
	key    []byte
	idx    int
}

const (
	phaseEnum     = 0
	phaseType     = 1
	phaseReadOnly = 2 // objects; minItems for arrays
	phaseCount    = 3 // maxItems
	phaseChildren = 4 // properties by sorted key, items by index
	phaseRequired = 5
)

// site is a violation found but not yet worded: wording costs, and only the
// first one is reported.
type site struct {
	kind   kind
	n      *node
	key    []byte  // the property named by required, readOnly, unsupported
	value  []byte  // the string whose format failed
	num    float64 // the number that failed
	rule   string  // fallback: kin-openapi's own
	reason string  // fallback: kin-openapi's own
}

type kind uint8

const (
	kType kind = iota
	kInteger
	kEnum
	kNullable
	kMinLength
	kMaxLength
	kFormat
	kIntFormat
	kNumFormat
	kExclMin
	kExclMax
	kMin
	kMax
	kMinItems
	kMaxItems
	kRequired
	kReadOnly
	kUnsupported
	kFallback
)

func (r *run) reset(sc *Schema, body []byte) {
	r.sc = sc
	r.d.ResetBytes(body)
	r.frames = r.frames[:0]
	r.seen = r.seen[:0]
	r.keys = r.keys[:0]
	r.hasBest, r.fatal, r.bestPtr = false, nil, ""
	r.strict, r.checkUTF8 = true, false
	r.maxDepth, r.maxElems, r.elems = maxDepth, 0, 0
}

// release drops what points into the body, so the pool does not keep it.
func (r *run) release() {
	r.sc, r.best = nil, site{}
	clear(r.bestRank)
	clear(r.scratch[:cap(r.scratch)])
	clear(r.frames[:cap(r.frames)])
	clear(r.keys[:cap(r.keys)])
	r.d.ResetBytes(nil)
}

func (r *run) result() *Violation {
	if r.fatal != nil {
		return r.fatal
	}
	if !r.hasBest {
		return nil
	}
	rule, reason := r.best.words(r.sc.dir)
	return &Violation{Pointer: r.bestPtr, Rule: rule, Reason: bound(reason, maxReason)}
}

func (r *run) fatalf(rule, format string, args ...any) bool {
	if r.fatal == nil {
		r.fatal = &Violation{Pointer: r.pointer(nil, false), Rule: rule, Reason: bound(fmt.Sprintf(format, args...), maxReason)}
	}
	return false
}

func (r *run) syntax() bool {
	return r.fatalf("json", "body is not valid JSON")
}

// failScalar records a violation of the current (scalar) value, whose frame
// is not on the stack.
func (r *run) failScalar(at *frame, mi int, s site) {
	r.frames = append(r.frames, *at)
	r.fail(mi, 0, nil, -1, nil, false, s)
	r.frames = r.frames[:len(r.frames)-1]
}

// fail records a violation of member mi of the innermost set, keeping it if
// it comes before every one recorded so far in kin-openapi's order. rkey and
// ridx place it among the member's checks; withKey adds key to its pointer.
func (r *run) fail(mi, phase int, rkey []byte, ridx int, key []byte, withKey bool, s site) {
	top := len(r.frames) - 1
	rank := r.scratch[:0]
	for range r.frames {
		rank = append(rank, rankElem{})
	}
	cur := mi
	for l := top; l >= 0; l-- {
		if l == top {
			rank[l] = rankElem{member: cur, phase: phase, key: rkey, idx: ridx}
		} else {
			c := &r.frames[l+1]
			rank[l] = rankElem{member: cur, phase: phaseChildren, key: c.key, idx: c.idx}
		}
		if l > 0 {
			cur = r.frames[l].s.members[cur].parent
		}
	}
	r.scratch = rank
	if r.hasBest && compareRank(rank, r.bestRank) >= 0 {
		return
	}
	r.scratch, r.bestRank = r.bestRank, rank
	r.best, r.hasBest = s, true
	r.best.value = bytes.Clone(s.value)
	r.bestPtr = r.pointer(key, withKey)
	if s.kind == kFallback {
		r.bestPtr = bound(r.bestPtr+string(s.value), maxPointer)
	}
}

func compareRank(a, b []rankElem) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		x, y := &a[i], &b[i]
		if x.member != y.member {
			return x.member - y.member
		}
		if x.phase != y.phase {
			return x.phase - y.phase
		}
		if x.key != nil || y.key != nil {
			if c := bytes.Compare(x.key, y.key); c != 0 {
				return c
			}
		}
		if x.idx != y.idx {
			return x.idx - y.idx
		}
	}
	return len(a) - len(b)
}

// pointer is the JSON pointer (RFC 6901) of the current value, or of its
// property key.
func (r *run) pointer(key []byte, withKey bool) string {
	var b strings.Builder
	frames := r.frames
	if len(frames) > 0 {
		frames = frames[1:] // the root has no token
	}
	for _, f := range frames {
		b.WriteByte('/')
		if f.idx < 0 {
			writeToken(&b, f.key)
		} else {
			b.WriteString(strconv.Itoa(f.idx))
		}
		if b.Len() > maxPointer {
			return bound(b.String(), maxPointer)
		}
	}
	if withKey {
		b.WriteByte('/')
		writeToken(&b, key)
	}
	return bound(b.String(), maxPointer)
}

// tooDeep is checked before entering an array or object: its nesting level
// is the number of frames.
func (r *run) tooDeep() bool {
	return len(r.frames) > r.maxDepth
}

func (r *run) deep() bool {
	return r.fatalf("depth", "nesting deeper than %d levels", r.maxDepth)
}

// count counts one element: a value once it is read (an array or object
// once it is opened) and a key once its colon is.
func (r *run) count() bool {
	if r.elems++; r.maxElems > 0 && r.elems > r.maxElems {
		return r.fatalf("elements", "more than %d elements (values and keys)", r.maxElems)
	}
	return true
}

// text checks a string's bytes (escapes resolved) as the limits ask.
func (r *run) text(b []byte) bool {
	if r.checkUTF8 && !utf8.Valid(b) {
		return r.fatalf("utf8", "body is not UTF-8")
	}
	return true
}

// readStr reads a string only to check and count it.
func (r *run) readStr() bool {
	if !r.checkUTF8 {
		if r.d.Skip() != nil {
			return r.syntax()
		}
		return r.count()
	}
	b, err := r.d.StrBytes()
	if err != nil {
		return r.syntax()
	}
	return r.text(b) && r.count()
}

func (r *run) pop() { r.frames = r.frames[:len(r.frames)-1] }

// value validates the next value against s.
func (r *run) value(s *set, key []byte, idx int) bool {
	if s.skip {
		return r.skip(key, idx)
	}
	switch r.d.Next() {
	case jx.Null:
		if r.d.Null() != nil {
			return r.syntax()
		}
		r.null(&frame{s: s, key: key, idx: idx})
		return r.count()
	case jx.String:
		if s.plainStr {
			return r.readStr()
		}
		b, err := r.d.StrBytes()
		if err != nil {
			return r.syntax()
		}
		if !r.text(b) || !r.count() {
			return false
		}
		r.str(&frame{s: s, key: key, idx: idx}, b)
		return true
	case jx.Number:
		raw, err := r.d.Num()
		if err != nil {
			return r.syntax()
		}
		f, ok := parseNumber(raw)
		if !ok {
			return r.syntax()
		}
		r.number(&frame{s: s, key: key, idx: idx}, f)
		return r.count()
	case jx.Bool:
		b, err := r.d.Bool()
		if err != nil {
			return r.syntax()
		}
		r.boolean(&frame{s: s, key: key, idx: idx}, b)
		return r.count()
	case jx.Array, jx.Object:
		if !r.count() {
			return false
		}
		r.frames = append(r.frames, frame{s: s, key: key, idx: idx})
		var ok bool
		switch {
		case s.hasFall:
			ok = r.compoundWithFallback(s)
		case r.d.Next() == jx.Array:
			ok = r.array(s)
		default:
			ok = r.object(s)
		}
		if ok {
			r.pop()
		}
		return ok
	}
	return r.syntax()
}

// skip reads a value nothing applies to. It still holds it to JSON (what
// json.Unmarshal refuses anywhere makes the whole body invalid), to the
// limits and to one key per object; its frames (no set) name where a fault
// is.
func (r *run) skip(key []byte, idx int) bool {
	switch r.d.Next() {
	case jx.Array, jx.Object:
		if !r.count() {
			return false
		}
		r.frames = append(r.frames, frame{key: key, idx: idx})
		if r.tooDeep() {
			return r.deep()
		}
		var ok bool
		if r.d.Next() == jx.Array {
			ok = r.skipArray()
		} else {
			ok = r.skipObject()
		}
		if ok {
			r.pop()
		}
		return ok
	case jx.Number:
		raw, err := r.d.Num()
		if err != nil {
			return r.syntax()
		}
		// Out of float64's range is invalid for what the validator agrees
		// with (json.Unmarshal into any), not for JSON: the limits read on.
		if r.strict {
			if _, ok := parseNumber(raw); !ok {
				return r.syntax()
			}
		}
		return r.count()
	case jx.String:
		return r.readStr()
	case jx.Bool, jx.Null:
		if r.d.Skip() != nil {
			return r.syntax()
		}
		return r.count()
	}
	return r.syntax()
}

func (r *run) skipArray() bool {
	it, err := r.d.ArrIter()
	if err != nil {
		return r.syntax()
	}
	for i := 0; it.Next(); i++ {
		if !r.skip(nil, i) {
			return false
		}
	}
	if it.Err() != nil {
		return r.syntax()
	}
	return true
}

func (r *run) skipObject() bool {
	ks := r.openKeys()
	err := r.d.ObjBytes(func(_ *jx.Decoder, key []byte) error {
		if !r.key(&ks, key) || !r.skip(key, -1) {
			return errStop
		}
		return nil
	})
	r.closeKeys(ks)
	if err != nil {
		if r.fatal != nil {
			return false
		}
		return r.syntax()
	}
	return true
}

// parseNumber reads a JSON number as encoding/json does into a float64:
// one out of its range makes the document invalid.
func parseNumber(raw []byte) (float64, bool) {
	// Up to 15 digits and nothing else: exact without strconv.
	if n := len(raw); n > 0 && n <= 15 {
		neg := raw[0] == '-'
		i := 0
		if neg {
			i = 1
		}
		if i < n && (raw[i] != '0' || n == i+1) {
			var v int64
			j := i
			for ; j < n && '0' <= raw[j] && raw[j] <= '9'; j++ {
				v = v*10 + int64(raw[j]-'0')
			}
			if j == n && j > i {
				if neg {
					return -float64(v), true
				}
				return float64(v), true
			}
		}
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	return f, err == nil
}

// null judges null on the roots' allOf trees, as kin-openapi does: a
// nullable schema accepts it without looking at its branches.
func (r *run) null(at *frame) {
	s := at.s
	for _, rt := range s.roots {
		if st, ok := r.nullCheck(rt.n, nil); !ok {
			r.failScalar(at, rt.lo, st)
			return
		}
	}
}

func (r *run) nullCheck(n *node, stack []*node) (site, bool) {
	if n.fallback {
		return r.fallbackCheck(n, nil)
	}
	if n.nullOK {
		return site{}, true
	}
	if n.empty {
		return site{kind: kNullable, n: n}, false
	}
	if len(n.allOf) > 0 {
		stack = append(stack, n)
		for _, b := range n.allOf {
			if containsNode(stack, b) {
				continue
			}
			if st, ok := r.nullCheck(b, stack); !ok {
				return st, false
			}
		}
		return site{}, true
	}
	if len(n.enum) > 0 && !enumHas(n.enum, nil) {
		return site{kind: kEnum, n: n}, false
	}
	return site{kind: kNullable, n: n}, false
}

func containsNode(s []*node, n *node) bool {
	for _, x := range s {
		if x == n {
			return true
		}
	}
	return false
}

// fallbackCheck validates a value with kin-openapi for a schema this package
// does not compile. The violation keeps kin-openapi's rule and reason, and
// its pointer continues the current one.
func (r *run) fallbackCheck(n *node, v any) (site, bool) {
	err := n.schema.VisitJSON(v, r.sc.opts...)
	if err == nil {
		return site{}, true
	}
	se, path := schemaerr.First(err)
	st := site{kind: kFallback, n: n, rule: "schema", reason: err.Error()}
	if se != nil {
		st.rule, st.reason = se.SchemaField, se.Reason
		var b strings.Builder
		for _, p := range path {
			b.WriteByte('/')
			writeToken(&b, []byte(p))
		}
		st.value = []byte(b.String()) // the pointer below the current value
	}
	return st, false
}

func (r *run) str(at *frame, b []byte) {
	s := at.s
	for mi := range s.members {
		n := s.members[mi].n
		if n.empty {
			continue
		}
		if n.fallback {
			if st, ok := r.fallbackCheck(n, decodedString(b)); !ok {
				r.failScalar(at, mi, st)
				return
			}
			continue
		}
		if k, ok := n.checkString(b); !ok {
			r.failScalar(at, mi, site{kind: k, n: n, value: b})
			return
		}
	}
}

// decodedString is b as encoding/json decodes it: each byte that is not
// UTF-8 becomes U+FFFD.
func decodedString(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	var sb strings.Builder
	for len(b) > 0 {
		c, size := utf8.DecodeRune(b)
		sb.WriteRune(c)
		b = b[size:]
	}
	return sb.String()
}

func (n *node) checkString(b []byte) (kind, bool) {
	if len(n.enum) > 0 && !enumHasString(n.enum, b) {
		return kEnum, false
	}
	if n.types&tString == 0 {
		return kType, false
	}
	if n.minLen != 0 || n.maxLen != nil {
		l := uint64(utf8.RuneCount(b))
		if n.minLen != 0 && l < n.minLen {
			return kMinLength, false
		}
		if n.maxLen != nil && l > *n.maxLen {
			return kMaxLength, false
		}
	}
	if n.strFormat != nil {
		var ok bool
		if n.fastFmt != nil && utf8.Valid(b) {
			ok = n.fastFmt(b)
		} else {
			ok = n.strFormat(decodedString(b)) == nil
		}
		if !ok {
			return kFormat, false
		}
	}
	return 0, true
}

func (r *run) number(at *frame, f float64) {
	s := at.s
	for mi := range s.members {
		n := s.members[mi].n
		if n.empty {
			continue
		}
		if n.fallback {
			if st, ok := r.fallbackCheck(n, f); !ok {
				r.failScalar(at, mi, st)
				return
			}
			continue
		}
		if k, ok := n.checkNumber(f); !ok {
			r.failScalar(at, mi, site{kind: k, n: n, num: f})
			return
		}
	}
}

func (n *node) checkNumber(f float64) (kind, bool) {
	if len(n.enum) > 0 && !enumHas(n.enum, f) {
		return kEnum, false
	}
	requireInteger := n.types&tInteger != 0 && n.types&tNumber == 0
	if requireInteger {
		if f != math.Trunc(f) {
			return kInteger, false
		}
	} else if n.types&(tInteger|tNumber) == 0 {
		return kType, false
	}
	if requireInteger {
		if n.intFormat != nil && integerFormatError(n.intFormat, f) != nil {
			return kIntFormat, false
		}
	} else if n.numFormat != nil && n.numFormat.Validate(f) != nil {
		return kNumFormat, false
	}
	if n.exclMin && !(f > *n.min) {
		return kExclMin, false
	}
	if n.exclMax && !(f < *n.max) {
		return kExclMax, false
	}
	if n.min != nil && !(*n.min <= f) {
		return kMin, false
	}
	if n.max != nil && !(*n.max >= f) {
		return kMax, false
	}
	return 0, true
}

func (r *run) boolean(at *frame, v bool) {
	s := at.s
	for mi := range s.members {
		n := s.members[mi].n
		if n.empty {
			continue
		}
		if n.fallback {
			if st, ok := r.fallbackCheck(n, v); !ok {
				r.failScalar(at, mi, st)
				return
			}
			continue
		}
		if len(n.enum) > 0 && !enumHas(n.enum, v) {
			r.failScalar(at, mi, site{kind: kEnum, n: n})
			return
		}
		if n.types&tBool == 0 {
			r.failScalar(at, mi, site{kind: kType, n: n})
			return
		}
	}
}

// enumHas is kin-openapi's equalJSONValues for scalar enums.
func enumHas(enum []any, v any) bool {
	for _, e := range enum {
		switch x := v.(type) {
		case nil:
			if e == nil {
				return true
			}
		case string:
			if s, ok := e.(string); ok && s == x {
				return true
			}
		case bool:
			if b, ok := e.(bool); ok && b == x {
				return true
			}
		case float64:
			if f, ok := asFloat(e); ok && f == x {
				return true
			}
		}
	}
	return false
}

// enumHasString is enumHas for a string, without making one of b (an
// allocation per value) when b is UTF-8.
func enumHasString(enum []any, b []byte) bool {
	if !utf8.Valid(b) {
		return enumHas(enum, decodedString(b))
	}
	for _, e := range enum {
		if s, ok := e.(string); ok && s == string(b) {
			return true
		}
	}
	return false
}

func asFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case float32:
		return float64(x), true
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case int32:
		return float64(x), true
	case uint64:
		return float64(x), true
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	}
	return 0, false
}

// compoundStart applies each member's own checks that come before its
// children: enum (an array or object never equals a scalar) and type.
func (r *run) compoundStart(s *set, t uint8) {
	for _, mi := range s.objMem {
		n := s.members[mi].n
		if len(n.enum) > 0 {
			r.fail(mi, phaseEnum, nil, -1, nil, false, site{kind: kEnum, n: n})
		} else if n.types&t == 0 {
			r.fail(mi, phaseType, nil, -1, nil, false, site{kind: kType, n: n})
		}
	}
}

func (r *run) array(s *set) bool {
	if r.tooDeep() {
		return r.deep()
	}
	r.compoundStart(s, tArray)
	it, err := r.d.ArrIter()
	if err != nil {
		return r.syntax()
	}
	count := 0
	for ; it.Next(); count++ {
		if !r.value(s.items, nil, count) {
			return false
		}
	}
	if it.Err() != nil {
		return r.syntax()
	}
	for _, mi := range s.objMem {
		n := s.members[mi].n
		if n.minItems != 0 && uint64(count) < n.minItems {
			r.fail(mi, phaseReadOnly, nil, -1, nil, false, site{kind: kMinItems, n: n})
		}
		if n.maxItems != nil && uint64(count) > *n.maxItems {
			r.fail(mi, phaseCount, nil, -1, nil, false, site{kind: kMaxItems, n: n})
		}
	}
	return true
}

func (r *run) object(s *set) bool {
	if r.tooDeep() {
		return r.deep()
	}
	r.compoundStart(s, tObject)
	base := len(r.seen)
	for i := 0; i < (s.nkeys+63)/64; i++ {
		r.seen = append(r.seen, 0)
	}
	ks := r.openKeys() // undeclared keys
	// ObjBytes, not ObjIter: the iterator stores each key in itself, a
	// pointer write with a GC write barrier per property; the callback gets
	// the key as an argument. A callback that stops returns errStop with
	// r.fatal set; any other error is jx's, a syntax error.
	err := r.d.ObjBytes(func(_ *jx.Decoder, key []byte) error {
		ki := s.lookup(key)
		if ki != nil {
			if !r.text(key) || !r.count() {
				return errStop
			}
			w, bit := base+ki.idx/64, uint64(1)<<(ki.idx%64)
			if r.seen[w]&bit != 0 {
				r.duplicate(key)
				return errStop
			}
			r.seen[w] |= bit
		} else {
			ki = s.other
			if !r.key(&ks, key) {
				return errStop
			}
		}
		if len(ki.ro) > 0 && r.d.Next() != jx.Null {
			for _, mi := range ki.ro {
				r.fail(mi, phaseReadOnly, key, -1, key, true, site{kind: kReadOnly, n: s.members[mi].n, key: key})
			}
		}
		for _, mi := range ki.denied {
			r.fail(mi, phaseChildren, key, -1, nil, false, site{kind: kUnsupported, n: s.members[mi].n, key: key})
		}
		if !r.value(ki.child, key, -1) {
			return errStop
		}
		return nil
	})
	r.closeKeys(ks)
	if err != nil {
		if r.fatal != nil {
			return false
		}
		return r.syntax()
	}
	for _, mi := range s.objMem {
		m := &s.members[mi]
		for q, k := range m.reqKey {
			if m.reqSkip[q] || r.seen[base+k/64]&(uint64(1)<<(k%64)) != 0 {
				continue
			}
			name := []byte(m.n.required[q])
			r.fail(mi, phaseRequired, nil, q, name, true, site{kind: kRequired, n: m.n, key: name})
			break // kin-openapi reports the first missing one
		}
	}
	r.seen = r.seen[:base]
	return true
}

// errStop ends an ObjBytes callback once the run has a fatal violation.
var errStop = errors.New("contract: stop")

// duplicate refuses a key repeated in one object (strict only): the pointer
// names the key.
func (r *run) duplicate(key []byte) bool {
	if r.fatal == nil {
		r.fatal = &Violation{Pointer: r.pointer(key, true), Rule: "duplicate", Reason: "key appears more than once"}
	}
	return false
}

// keySet is the keys of one open object that no bitset covers: a window of
// r.keys, searched in order while it is short and through a map once it is
// not, so neither a wide object nor many small ones cost more than their
// keys. The keys are the decoder's: slices of the body, or copies it made to
// resolve escapes, so they stay valid for the whole pass.
type keySet struct {
	base int
	big  map[string]struct{}
}

// keySetLinear is the most keys searched in order: past it a map costs less
// than the comparisons.
const keySetLinear = 16

func (r *run) openKeys() keySet { return keySet{base: len(r.keys)} }

func (r *run) closeKeys(ks keySet) {
	clear(r.keys[ks.base:])
	r.keys = r.keys[:ks.base]
}

// key checks and counts an undeclared key and, in strict mode, refuses it
// when the object named it before.
func (r *run) key(ks *keySet, key []byte) bool {
	if !r.text(key) || !r.count() {
		return false
	}
	if !r.strict {
		return true
	}
	if !r.checkUTF8 && !utf8.Valid(key) {
		// Keys compare as encoding/json decodes them: "\xff" and "\xfe"
		// are one key, U+FFFD.
		key = []byte(decodedString(key))
	}
	if ks.big != nil {
		if _, dup := ks.big[string(key)]; dup {
			return r.duplicate(key)
		}
		ks.big[string(key)] = struct{}{}
		return true
	}
	for _, k := range r.keys[ks.base:] {
		if bytes.Equal(k, key) {
			return r.duplicate(key)
		}
	}
	r.keys = append(r.keys, key)
	if len(r.keys)-ks.base > keySetLinear {
		ks.big = make(map[string]struct{}, 2*keySetLinear)
		for _, k := range r.keys[ks.base:] {
			ks.big[string(k)] = struct{}{}
		}
	}
	return true
}

// compoundWithFallback validates an array or object some member of which
// kin-openapi validates: it decodes the value for those members, then runs
// the compiled ones over the same bytes.
func (r *run) compoundWithFallback(s *set) bool {
	raw, err := r.d.Raw()
	if err != nil {
		return r.syntax()
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return r.syntax()
	}
	for mi := range s.members {
		if n := s.members[mi].n; n.fallback {
			if st, ok := r.fallbackCheck(n, v); !ok {
				r.fail(mi, 0, nil, -1, nil, false, st)
			}
		}
	}
	outer := r.d
	r.d = jx.DecodeBytes(raw)
	defer func() { r.d = outer }()
	if raw[0] == '[' {
		return r.array(s)
	}
	return r.object(s)
}

// words says which rule a site broke and why, in kin-openapi's words (its
// SchemaError.SchemaField and Reason).
func (st *site) words(dir Direction) (rule, reason string) {
	n := st.n
	switch st.kind {
	case kType:
		return "type", n.typeWord
	case kInteger:
		return "type", "value must be an integer"
	case kEnum:
		return "enum", n.enumMsg
	case kNullable:
		return "nullable", "Value is not nullable"
	case kMinLength:
		return "minLength", fmt.Sprintf("minimum string length is %d", n.minLen)
	case kMaxLength:
		return "maxLength", fmt.Sprintf("maximum string length is %d", *n.maxLen)
	case kFormat:
		err := n.strFormat(decodedString(st.value))
		return "format", fmt.Sprintf("string doesn't match the format %q (%v)", n.format, err)
	case kIntFormat:
		return "format", fmt.Sprintf("integer doesn't match the format %q (%v)", n.format, integerFormatError(n.intFormat, st.num))
	case kNumFormat:
		return "format", fmt.Sprintf("number doesn't match the format %q (%v)", n.format, n.numFormat.Validate(st.num))
	case kExclMin:
		return "exclusiveMinimum", fmt.Sprintf("number must be more than %g", *n.min)
	case kExclMax:
		return "exclusiveMaximum", fmt.Sprintf("number must be less than %g", *n.max)
	case kMin:
		return "minimum", fmt.Sprintf("number must be at least %g", *n.min)
	case kMax:
		return "maximum", fmt.Sprintf("number must be at most %g", *n.max)
	case kMinItems:
		return "minItems", fmt.Sprintf("minimum number of items is %d", n.minItems)
	case kMaxItems:
		return "maxItems", fmt.Sprintf("maximum number of items is %d", *n.maxItems)
	case kRequired:
		return "required", fmt.Sprintf("property %q is missing", bound(string(st.key), 64))
	case kReadOnly:
		if dir == Request {
			return "readOnly", fmt.Sprintf("readOnly property %q in request", bound(decodedString(st.key), 64))
		}
		return "writeOnly", fmt.Sprintf("writeOnly property %q in response", bound(decodedString(st.key), 64))
	case kUnsupported:
		return "properties", fmt.Sprintf("property %q is unsupported", bound(decodedString(st.key), 64))
	case kFallback:
		return st.rule, st.reason
	}
	return "schema", "value does not match the schema"
}
