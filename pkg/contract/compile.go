package contract

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// Direction says whether a schema is applied to a request or to a response.
// kin-openapi treats readOnly and writeOnly properties differently in each,
// so a schema is compiled once per direction.
type Direction int

const (
	// Request bodies: a readOnly property must not be sent and is not required.
	Request Direction = iota
	// Response bodies: a writeOnly property must not be sent and is not required.
	Response
)

func (d Direction) String() string {
	if d == Request {
		return "request"
	}
	return "response"
}

func (d Direction) option() openapi3.SchemaValidationOption {
	if d == Request {
		return openapi3.VisitAsRequest()
	}
	return openapi3.VisitAsResponse()
}

// JSON types as a bit set.
const (
	tNull uint8 = 1 << iota
	tBool
	tInteger
	tNumber
	tString
	tArray
	tObject
	tAny = 0xff
)

var typeNames = map[string]uint8{
	openapi3.TypeNull: tNull, openapi3.TypeBoolean: tBool, openapi3.TypeInteger: tInteger,
	openapi3.TypeNumber: tNumber, openapi3.TypeString: tString, openapi3.TypeArray: tArray, openapi3.TypeObject: tObject,
}

// node is one schema compiled for one direction: kin-openapi's checks of
// that schema alone, without its allOf branches (those are nodes of their
// own, applied beside it).
type node struct {
	schema   *openapi3.Schema
	name     string // where it was found, for the fall-back report
	fallback bool   // validated by kin-openapi (a keyword this package does not compile)
	empty    bool   // the empty schema: any value but null
	nullOK   bool   // nullable, or "null" among its types
	types    uint8  // permitted types; tAny when the schema names none
	typeWord string // kin-openapi's "value must be ..." wording
	allOf    []*node

	enum    []any // scalars only (others fall back)
	enumMsg string

	// strings
	minLen    uint64
	maxLen    *uint64
	format    string
	strFormat func(string) error
	fastFmt   func([]byte) bool // nil: strFormat decides

	// numbers
	intFormat openapi3.IntegerFormatValidator
	numFormat openapi3.NumberFormatValidator
	min, max  *float64
	exclMin   bool
	exclMax   bool

	// arrays
	minItems uint64
	maxItems *uint64
	items    *node

	// objects
	props      map[string]*node
	propNames  []string // sorted, as kin-openapi visits them
	required   []string
	addlDenied bool  // additionalProperties: false
	addl       *node // additionalProperties schema, nil when absent or true

	readOnly, writeOnly bool
}

// compiler turns kin-openapi's resolved schemas into nodes, once per schema
// and direction.
type compiler struct {
	dir       Direction
	nodes     map[*openapi3.Schema]*node
	formats   map[string]openapi3.StringFormatValidator
	fallbacks map[string]string // node name -> unsupported keywords
	names     map[*openapi3.Schema]string
}

func newCompiler(dir Direction, names map[*openapi3.Schema]string) *compiler {
	return &compiler{
		dir:       dir,
		nodes:     map[*openapi3.Schema]*node{},
		formats:   stringFormats(),
		fallbacks: map[string]string{},
		names:     names,
	}
}

func (c *compiler) compile(ref *openapi3.SchemaRef, where string) *node {
	if ref == nil || ref.Value == nil {
		// An unresolved reference: kin-openapi reports it at validation time.
		return &node{fallback: true, name: where}
	}
	s := ref.Value
	if n, ok := c.nodes[s]; ok {
		return n
	}
	if name, ok := c.names[s]; ok {
		where = name
	}
	n := &node{schema: s, name: where, readOnly: s.ReadOnly, writeOnly: s.WriteOnly}
	c.nodes[s] = n // before the children: a recursive schema finds itself

	if kw := unsupportedKeywords(s); kw != "" {
		n.fallback = true
		c.fallbacks[where] = kw
		return n
	}
	n.empty = s.IsEmpty()
	n.nullOK = s.Nullable || s.Type.IncludesNull()
	n.types = tAny
	if s.Type != nil {
		n.types = 0
		for _, t := range *s.Type {
			n.types |= typeNames[t]
		}
		n.typeWord = typeWording(*s.Type)
	}
	for i, sub := range s.AllOf {
		n.allOf = append(n.allOf, c.compile(sub, fmt.Sprintf("%s/allOf/%d", where, i)))
	}
	if len(s.Enum) > 0 {
		n.enum = s.Enum
		allowed, _ := json.Marshal(s.Enum)
		n.enumMsg = "value is not one of the allowed values " + string(allowed)
	}
	n.minLen, n.maxLen = s.MinLength, s.MaxLength
	if f := s.Format; f != "" {
		n.format = f
		if v, ok := c.formats[f]; ok {
			n.strFormat = v.Validate
		}
		n.fastFmt = fastFormats[f]
		if v, ok := openapi3.SchemaIntegerFormats[f]; ok {
			n.intFormat = v
		}
		if v, ok := openapi3.SchemaNumberFormats[f]; ok {
			n.numFormat = v
		}
	}
	n.min, n.max = s.Min, s.Max
	n.exclMin = s.ExclusiveMin.Bool != nil && *s.ExclusiveMin.Bool && s.Min != nil
	n.exclMax = s.ExclusiveMax.Bool != nil && *s.ExclusiveMax.Bool && s.Max != nil
	n.minItems, n.maxItems = s.MinItems, s.MaxItems
	if s.Items != nil {
		n.items = c.compile(s.Items, where+"/items")
	}
	if len(s.Properties) > 0 {
		n.props = make(map[string]*node, len(s.Properties))
		for name, p := range s.Properties {
			n.props[name] = c.compile(p, where+"/properties/"+name)
			n.propNames = append(n.propNames, name)
		}
		sort.Strings(n.propNames)
	}
	n.required = s.Required
	if h := s.AdditionalProperties.Has; h != nil && !*h {
		n.addlDenied = true
	}
	if a := s.AdditionalProperties.Schema; a != nil {
		n.addl = c.compile(a, where+"/additionalProperties")
	}
	return n
}

// unsupportedKeywords names the keywords of s this package does not compile,
// or returns "". It asks kin-openapi itself: with every compiled keyword and
// every annotation removed, what remains must be the empty schema, so a
// keyword added to kin-openapi later is never skipped silently.
func unsupportedKeywords(s *openapi3.Schema) string {
	cp := *s
	cp.Extensions, cp.Origin = nil, nil
	cp.Title, cp.Description, cp.Default, cp.Example, cp.Examples, cp.ExternalDocs = "", "", nil, nil, nil, nil
	cp.Deprecated, cp.XML, cp.AllowEmptyValue, cp.Comment, cp.Defs, cp.SchemaDialect = false, nil, false, "", nil, ""
	cp.Type, cp.Format, cp.Nullable, cp.ReadOnly, cp.WriteOnly = nil, "", false, false, false
	cp.AllOf = nil
	cp.Min, cp.Max = nil, nil
	if cp.ExclusiveMin.Value == nil {
		cp.ExclusiveMin = openapi3.ExclusiveBound{}
	}
	if cp.ExclusiveMax.Value == nil {
		cp.ExclusiveMax = openapi3.ExclusiveBound{}
	}
	cp.MinLength, cp.MaxLength = 0, nil
	cp.MinItems, cp.MaxItems, cp.Items = 0, nil, nil
	cp.Required, cp.Properties, cp.AdditionalProperties = nil, nil, openapi3.AdditionalProperties{}
	if scalarEnum(cp.Enum) {
		cp.Enum = nil
	}
	if cp.IsEmpty() {
		return ""
	}
	raw, err := json.Marshal(&cp)
	if err != nil {
		return "unknown"
	}
	var m map[string]any
	if json.Unmarshal(raw, &m) != nil || len(m) == 0 {
		return "unknown"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return strings.Join(keys, ", ")
}

func scalarEnum(values []any) bool {
	for _, v := range values {
		switch v.(type) {
		case nil, bool, string, float64:
		default:
			return false
		}
	}
	return true
}

// typeWording is kin-openapi's expectedType message.
func typeWording(types []string) string {
	if len(types) == 1 {
		a := "a"
		switch types[0] {
		case openapi3.TypeArray, openapi3.TypeObject, openapi3.TypeInteger:
			a = "an"
		}
		return fmt.Sprintf("value must be %s %s", a, types[0])
	}
	return fmt.Sprintf("value must be one of %s", strings.Join(types, ", "))
}

// stringFormats are the string formats validation uses: the project's own
// (SchemaOptions) before kin-openapi's global ones, as kin-openapi looks them up.
func stringFormats() map[string]openapi3.StringFormatValidator {
	m := make(map[string]openapi3.StringFormatValidator, len(openapi3.SchemaStringFormats)+2)
	for k, v := range openapi3.SchemaStringFormats {
		m[k] = v
	}
	for k, v := range projectFormats {
		m[k] = v
	}
	return m
}

// integerFormatError is kin-openapi's validateIntegerFormat: a float64 beyond
// the int64 range would wrap when converted, so it is refused first.
func integerFormatError(v openapi3.IntegerFormatValidator, value float64) error {
	switch {
	case value == float64(math.MaxInt64):
		return v.Validate(math.MaxInt64)
	case value >= float64(math.MinInt64) && value < float64(math.MaxInt64):
		return v.Validate(int64(value))
	default:
		return fmt.Errorf("value should be between %v and %v", int64(math.MinInt64), int64(math.MaxInt64))
	}
}

// flatten lists n and its allOf branches in the order kin-openapi reports
// their errors: each branch (recursively) before the schema that holds it.
// chain holds, for each member, the schemas applied to the same value on the
// way from n down to it (for the readOnly/writeOnly exemption of required).
func flatten(n *node, chain []*node, out *[]flatMember) {
	if n.fallback {
		*out = append(*out, flatMember{n: n, chain: slices.Clone(append(chain, n))})
		return
	}
	chain = append(chain, n)
	for _, b := range n.allOf {
		if slices.Contains(chain, b) {
			continue // kin-openapi skips a schema already applied to this value
		}
		flatten(b, chain, out)
	}
	*out = append(*out, flatMember{n: n, chain: slices.Clone(chain)})
}

type flatMember struct {
	n     *node
	chain []*node
}
