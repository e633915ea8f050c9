package oneroster

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Rules name what a row broke; every Error carries one, so that programs can
// tell errors apart without parsing messages.
const (
	RuleCSV             = "csv"              // the file is not well-formed CSV (quoting)
	RuleUTF8            = "utf-8"            // a byte sequence that is not UTF-8
	RuleMissingColumn   = "missing-column"   // a required column is not in the header
	RuleDuplicateColumn = "duplicate-column" // a column named twice in the header
	RuleFieldCount      = "field-count"      // more values than the header has columns
	RuleRequired        = "required"         // a required value is empty
	RuleVocabulary      = "vocabulary"       // a value outside the column's vocabulary
	RuleDate            = "date"             // not a YYYY-MM-DD date
	RuleYear            = "year"             // not a four-digit year
	RuleDuplicateID     = "duplicate-id"     // a sourcedId twice in one file
	RuleUnknownRef      = "unknown-ref"      // a reference to a sourcedId that does not exist
	RuleManifest        = "manifest"         // the manifest is missing or wrong
	RuleMissingFile     = "missing-file"     // the export has no manifest.csv
)

// Error is one thing wrong with the export. Line and Column are 1-based;
// zero when they do not apply (a missing file, a header-wide problem has
// Line 1). Column is the byte column of a CSV or UTF-8 error; Field names
// the column of a value error.
type Error struct {
	File   string
	Line   int
	Column int
	Field  string
	Rule   string
	Msg    string
}

func (e Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
		if e.Column > 0 {
			fmt.Fprintf(&b, ":%d", e.Column)
		}
	}
	if e.Field != "" {
		fmt.Fprintf(&b, ": %s", e.Field)
	}
	fmt.Fprintf(&b, ": %s [%s]", e.Msg, e.Rule)
	return b.String()
}

// DefaultErrorCap is how many errors of one file a load lists before it
// only counts them.
const DefaultErrorCap = 50

// ValidationError is a load refused because the export is wrong: nothing was
// changed. Errors are in file order, then line order; Omitted counts, per
// file, the errors beyond the cap.
type ValidationError struct {
	Errors  []Error
	Omitted map[string]int
}

func (e *ValidationError) Error() string {
	n := len(e.Errors)
	for _, k := range e.Omitted {
		n += k
	}
	var b strings.Builder
	fmt.Fprintf(&b, "the export has %d error(s); nothing was loaded", n)
	for _, x := range e.Errors {
		b.WriteString("\n  ")
		b.WriteString(x.Error())
	}
	for _, f := range slices.Sorted(maps.Keys(e.Omitted)) {
		fmt.Fprintf(&b, "\n  %s: %d more error(s) not listed", f, e.Omitted[f])
	}
	return b.String()
}

// errorList collects errors with a cap per file.
type errorList struct {
	cap     int
	perFile map[string]int
	v       ValidationError
}

func newErrorList(cap int) *errorList {
	if cap <= 0 {
		cap = DefaultErrorCap
	}
	return &errorList{cap: cap, perFile: map[string]int{}, v: ValidationError{Omitted: map[string]int{}}}
}

func (l *errorList) add(e Error) {
	l.perFile[e.File]++
	if l.perFile[e.File] > l.cap {
		l.v.Omitted[e.File]++
		return
	}
	l.v.Errors = append(l.v.Errors, e)
}

// broken is the files with errors of their own: a reference to a row such
// a file rejected would be reported as unknown on top of the row's own
// error, so references into it are checked once it is fixed.
func (l *errorList) broken() map[string]bool {
	broken := map[string]bool{}
	for f, n := range l.perFile {
		broken[f] = n > 0
	}
	return broken
}

func (l *errorList) err() error {
	if len(l.v.Errors) == 0 {
		return nil
	}
	v := l.v
	if len(v.Omitted) == 0 {
		v.Omitted = nil
	}
	return &v
}

// AsValidation returns err's *ValidationError, if it is one.
func AsValidation(err error) (*ValidationError, bool) {
	var v *ValidationError
	ok := errors.As(err, &v)
	return v, ok
}
