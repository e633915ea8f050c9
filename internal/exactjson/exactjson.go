package exactjson

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// KeyError is a key that encoding/json would match to a field of another
// spelling: it differs from the field's name only by case.
type KeyError struct {
	// Pointer is the RFC 6901 JSON pointer of the key's member.
	Pointer string
	// Key is the key as the document spells it (escapes resolved).
	Key string
	// Field is the declared name the decoder would fill from it.
	Field string
}

func (e *KeyError) Error() string {
	return fmt.Sprintf("exactjson: key %q at %s differs from the declared %q only by case", e.Key, e.Pointer, e.Field)
}

// Check reports a *KeyError for the first object key in data that differs
// only by case from the name of a struct field it would fill when data is
// decoded into v (a pointer, as for json.Unmarshal). It looks only where
// encoding/json would match names itself: into values whose types have their
// own UnmarshalJSON or UnmarshalText, and into interfaces, it does not. Data
// that is not JSON gets nil: the decoder that runs next says what is wrong
// with it.
func Check(data []byte, v any) error {
	if v == nil {
		return nil
	}
	ti := infoOf(reflect.TypeOf(v))
	if ti.kind == opaque {
		return nil
	}
	s := scanner{data: data}
	s.ws()
	err := s.value(ti)
	var ke *KeyError
	if errors.As(err, &ke) {
		return ke
	}
	return nil
}

type kind uint8

const (
	opaque kind = iota // nothing inside is matched by name
	object             // a struct: keys matched to fields
	dict               // a map: keys taken exactly, values of one type
	list               // a slice or array
)

// info is what Check needs to know of a Go type.
type info struct {
	kind   kind
	fields map[string]*info // object: the field names and their types
	names  []string         // object: the same names, for the case-blind search
	elem   *info            // dict, list: the element type
}

var (
	infoMu    sync.Mutex
	infoCache = map[reflect.Type]*info{}

	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
	opaqueInfo      = &info{kind: opaque}
)

func infoOf(t reflect.Type) *info {
	infoMu.Lock()
	defer infoMu.Unlock()
	return build(t)
}

// build returns t's info; infoMu is held. A type under construction is in
// the cache already, so recursive types end.
func build(t reflect.Type) *info {
	for t.Kind() == reflect.Pointer {
		if t.Implements(jsonUnmarshaler) || t.Implements(textUnmarshaler) {
			return opaqueInfo
		}
		t = t.Elem()
	}
	if ti, ok := infoCache[t]; ok {
		return ti
	}
	pt := reflect.PointerTo(t)
	if pt.Implements(jsonUnmarshaler) || pt.Implements(textUnmarshaler) {
		return opaqueInfo
	}
	ti := &info{}
	infoCache[t] = ti
	switch t.Kind() {
	case reflect.Struct:
		ti.kind = object
		ti.fields = map[string]*info{}
		addFields(ti, t, map[reflect.Type]bool{})
	case reflect.Map:
		ti.kind, ti.elem = dict, build(t.Elem())
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 && t.Kind() == reflect.Slice {
			break // []byte is a base64 string
		}
		ti.kind, ti.elem = list, build(t.Elem())
	}
	return ti
}

// addFields adds the fields encoding/json decodes into t's values,
// promoting those of embedded structs without a name of their own (the
// shallower one wins a clash, as in encoding/json).
func addFields(ti *info, t reflect.Type, seen map[reflect.Type]bool) {
	if seen[t] {
		return
	}
	seen[t] = true
	var embedded []reflect.Type
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			et := f.Type
			if et.Kind() == reflect.Pointer {
				et = et.Elem()
			}
			if et.Kind() == reflect.Struct {
				embedded = append(embedded, et)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if _, dup := ti.fields[name]; !dup {
			ti.fields[name] = build(f.Type)
			ti.names = append(ti.names, name)
		}
	}
	for _, et := range embedded {
		addFields(ti, et, seen)
	}
}

// errSyntax stops the scan at data that is not JSON; Check returns nil.
var errSyntax = errors.New("exactjson: not JSON")

// scanner walks a document by its bytes, keeping the way to where it is for
// the pointer of an error.
type scanner struct {
	data []byte
	i    int
	path []step
}

type step struct {
	key   []byte // an object member's raw key, or nil for an array index
	index int
}

func (s *scanner) ws() {
	for s.i < len(s.data) {
		switch s.data[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *scanner) value(ti *info) error {
	if s.i >= len(s.data) {
		return errSyntax
	}
	switch c := s.data[s.i]; {
	case c == '{' && (ti.kind == object || ti.kind == dict):
		return s.object(ti)
	case c == '[' && ti.kind == list:
		return s.array(ti.elem)
	}
	return s.skip()
}

func (s *scanner) object(ti *info) error {
	s.i++ // {
	s.ws()
	if s.i < len(s.data) && s.data[s.i] == '}' {
		s.i++
		return nil
	}
	for {
		if s.i >= len(s.data) || s.data[s.i] != '"' {
			return errSyntax
		}
		start := s.i + 1
		if err := s.skipString(); err != nil {
			return err
		}
		raw := s.data[start : s.i-1]
		s.ws()
		if s.i >= len(s.data) || s.data[s.i] != ':' {
			return errSyntax
		}
		s.i++
		s.ws()
		child := opaqueInfo
		if ti.kind == dict {
			child = ti.elem
		} else if f, ok := ti.fields[string(raw)]; ok {
			child = f
		} else {
			key, err := decodeKey(raw)
			if err != nil {
				return err
			}
			if f, ok := ti.fields[key]; ok {
				child = f
			} else {
				for _, name := range ti.names {
					if bytes.EqualFold([]byte(key), []byte(name)) {
						s.path = append(s.path, step{key: raw})
						return &KeyError{Pointer: s.pointer(), Key: key, Field: name}
					}
				}
			}
		}
		s.path = append(s.path, step{key: raw})
		if err := s.value(child); err != nil {
			return err
		}
		s.path = s.path[:len(s.path)-1]
		if more, err := s.next('}'); err != nil || !more {
			return err
		}
	}
}

func (s *scanner) array(elem *info) error {
	s.i++ // [
	s.ws()
	if s.i < len(s.data) && s.data[s.i] == ']' {
		s.i++
		return nil
	}
	for n := 0; ; n++ {
		s.path = append(s.path, step{index: n})
		if err := s.value(elem); err != nil {
			return err
		}
		s.path = s.path[:len(s.path)-1]
		if more, err := s.next(']'); err != nil || !more {
			return err
		}
	}
}

// skipString moves past the string that starts at s.i.
// next reads what follows a member of an object or an element of an array:
// a comma (more follows) or the closing bracket (the end).
func (s *scanner) next(closing byte) (more bool, err error) {
	s.ws()
	if s.i >= len(s.data) {
		return false, errSyntax
	}
	switch s.data[s.i] {
	case ',':
		s.i++
		s.ws()
		return true, nil
	case closing:
		s.i++
		return false, nil
	}
	return false, errSyntax
}

func (s *scanner) skipString() error {
	j := s.i + 1
	for {
		k := bytes.IndexAny(s.data[j:], `"\`)
		if k < 0 {
			return errSyntax
		}
		j += k
		if s.data[j] == '"' {
			s.i = j + 1
			return nil
		}
		j += 2 // the backslash and the byte it escapes
		if j > len(s.data) {
			return errSyntax
		}
	}
}

// skip moves past the value at s.i without looking inside it, with no
// recursion however deep it nests.
func (s *scanner) skip() error {
	if s.i >= len(s.data) {
		return errSyntax
	}
	switch s.data[s.i] {
	case '"':
		return s.skipString()
	case '{', '[':
		depth := 0
		for s.i < len(s.data) {
			switch s.data[s.i] {
			case '"':
				if err := s.skipString(); err != nil {
					return err
				}
				continue
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					s.i++
					return nil
				}
			}
			s.i++
		}
		return errSyntax
	}
	for s.i < len(s.data) {
		switch s.data[s.i] {
		case ' ', '\t', '\n', '\r', ',', '}', ']', ':':
			return nil
		}
		s.i++
	}
	return nil
}

// decodeKey reads a raw object key (the bytes between its quotes) as
// encoding/json does: escapes resolved, invalid UTF-8 replaced, so that the
// check sees the keys the decoder will.
func decodeKey(raw []byte) (string, error) {
	plain := true
	for _, c := range raw {
		if c == '\\' || c >= utf8.RuneSelf || c < 0x20 {
			plain = false
			break
		}
	}
	if plain {
		return string(raw), nil
	}
	var k string
	if err := json.Unmarshal(append(append([]byte{'"'}, raw...), '"'), &k); err != nil {
		return "", errSyntax
	}
	return k, nil
}

// pointer renders s.path as an RFC 6901 JSON pointer.
func (s *scanner) pointer() string {
	var b strings.Builder
	for _, st := range s.path {
		b.WriteByte('/')
		if st.key == nil {
			b.WriteString(strconv.Itoa(st.index))
			continue
		}
		k, _ := decodeKey(st.key)
		b.WriteString(strings.ReplaceAll(strings.ReplaceAll(k, "~", "~0"), "/", "~1"))
	}
	return b.String()
}
