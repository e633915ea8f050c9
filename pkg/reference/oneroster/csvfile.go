package oneroster

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"
)

// csvFile streams the rows of one CSV file of the export, checking each
// value as it is read and collecting positioned errors. It never holds more
// than one row.
//
// Leniencies, all met in the vendor's own samples: a row shorter than the
// header reads its missing trailing values as empty; a row longer than the
// header is accepted when the extra values are empty; a header column with
// an empty name is ignored; a UTF-8 byte-order mark before the header is
// skipped; surrounding spaces of header names are trimmed.
type csvFile struct {
	name string
	r    *csv.Reader
	errs *errorList
	cols map[string]int
	ncol int

	rec  []string
	line int
	ok   bool // the current row has no error so far
	rows int  // rows read, good or bad
}

// openCSV reads the header and checks that every required column is there.
// It returns nil when the file cannot be read further (its errors are in
// errs).
func openCSV(name string, rd io.Reader, required []string, errs *errorList) *csvFile {
	r := csv.NewReader(rd)
	r.FieldsPerRecord = -1
	r.ReuseRecord = true
	f := &csvFile{name: name, r: r, errs: errs, cols: map[string]int{}}
	header, err := r.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			errs.add(Error{File: name, Line: 1, Rule: RuleMissingColumn, Msg: "the file is empty: no header row"})
		} else {
			f.parseError(err)
		}
		return nil
	}
	bad := false
	for i, h := range header {
		if i == 0 {
			h = strings.TrimPrefix(h, "\ufeff")
		}
		if !utf8.ValidString(h) {
			_, col := r.FieldPos(i)
			errs.add(Error{File: name, Line: 1, Column: col, Rule: RuleUTF8, Msg: "the header is not UTF-8"})
			bad = true
			continue
		}
		h = strings.TrimSpace(h)
		if h == "" {
			continue
		}
		if _, dup := f.cols[h]; dup {
			_, col := r.FieldPos(i)
			errs.add(Error{File: name, Line: 1, Column: col, Field: h, Rule: RuleDuplicateColumn, Msg: "column named twice in the header"})
			bad = true
			continue
		}
		f.cols[h] = i
	}
	f.ncol = len(header)
	for _, c := range required {
		if _, ok := f.cols[c]; !ok {
			errs.add(Error{File: name, Line: 1, Field: c, Rule: RuleMissingColumn, Msg: fmt.Sprintf("required column %q is not in the header", c)})
			bad = true
		}
	}
	if bad {
		return nil
	}
	return f
}

func (f *csvFile) parseError(err error) {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		f.errs.add(Error{File: f.name, Line: pe.Line, Column: pe.Column, Rule: RuleCSV, Msg: pe.Err.Error()})
		return
	}
	f.errs.add(Error{File: f.name, Rule: RuleCSV, Msg: err.Error()})
}

// next reads the next row. A row that is not well-formed (CSV quoting,
// UTF-8, too many values) is reported and skipped. It returns false at the
// end of the file or on a read error that ends it.
func (f *csvFile) next() bool {
	for {
		rec, err := f.r.Read()
		if errors.Is(err, io.EOF) {
			return false
		}
		if err != nil {
			var pe *csv.ParseError
			f.parseError(err)
			if !errors.As(err, &pe) {
				return false // an I/O error: nothing more can be read
			}
			f.rows++
			continue
		}
		f.rows++
		f.rec = rec
		f.line, _ = f.r.FieldPos(0)
		f.ok = true
		for i, v := range rec {
			if !utf8.ValidString(v) {
				line, col := f.r.FieldPos(i)
				for j := 0; j < len(v); {
					r, size := utf8.DecodeRuneInString(v[j:])
					if r == utf8.RuneError && size <= 1 {
						col += j
						break
					}
					j += size
				}
				f.errs.add(Error{File: f.name, Line: line, Column: col, Rule: RuleUTF8, Msg: "invalid UTF-8 byte sequence"})
				f.ok = false
				break
			}
		}
		if f.ok && len(rec) > f.ncol {
			for i := f.ncol; i < len(rec); i++ {
				if rec[i] != "" {
					line, col := f.r.FieldPos(i)
					f.errs.add(Error{File: f.name, Line: line, Column: col, Rule: RuleFieldCount,
						Msg: fmt.Sprintf("the row has %d values, the header %d columns", len(rec), f.ncol)})
					f.ok = false
					break
				}
			}
		}
		if f.ok {
			return true
		}
	}
}

// get is the value of column c in the current row ("" when the column or
// the value is absent), without surrounding spaces.
func (f *csvFile) get(c string) string {
	i, ok := f.cols[c]
	if !ok || i >= len(f.rec) {
		return ""
	}
	return strings.TrimSpace(f.rec[i])
}

// fail records an error of column c in the current row.
func (f *csvFile) fail(c, rule, format string, args ...any) {
	e := Error{File: f.name, Line: f.line, Field: c, Rule: rule, Msg: fmt.Sprintf(format, args...)}
	if i, ok := f.cols[c]; ok && i < len(f.rec) {
		e.Line, e.Column = f.r.FieldPos(i)
	}
	f.errs.add(e)
	f.ok = false
}

// req is a required value.
func (f *csvFile) req(c string) string {
	v := f.get(c)
	if v == "" {
		f.fail(c, RuleRequired, "a value is required")
	}
	return v
}

// enum is a value of a closed vocabulary, compared case-insensitively and
// returned as the vocabulary spells it; "" when empty and optional.
func (f *csvFile) enum(c string, required bool, vocab ...string) string {
	v := f.get(c)
	if v == "" {
		if required {
			f.fail(c, RuleRequired, "a value is required")
		}
		return ""
	}
	for _, w := range vocab {
		if strings.EqualFold(v, w) {
			return w
		}
	}
	f.fail(c, RuleVocabulary, "%q is not one of %s", v, strings.Join(vocab, ", "))
	return ""
}

// date is a YYYY-MM-DD date or "".
func (f *csvFile) date(c string, required bool) string {
	v := f.get(c)
	if v == "" {
		if required {
			f.fail(c, RuleRequired, "a value is required")
		}
		return ""
	}
	if _, err := time.Parse(time.DateOnly, v); err != nil || len(v) != len(time.DateOnly) {
		f.fail(c, RuleDate, "%s", dateProblem(v))
		return ""
	}
	return v
}

// year is a four-digit year or "".
func (f *csvFile) year(c string) string {
	v := f.get(c)
	if v == "" {
		return ""
	}
	if len(v) != 4 || strings.Trim(v, "0123456789") != "" {
		f.fail(c, RuleYear, "%q is not a four-digit year", v)
		return ""
	}
	return v
}

// boolean is "true", "false" or "".
func (f *csvFile) boolean(c string) string {
	return f.enum(c, false, "true", "false")
}

// list splits a comma-separated list of sourcedIds, dropping empty items.
func (f *csvFile) list(c string, required bool) []string {
	var out []string
	for _, s := range strings.Split(f.get(c), ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	if required && len(out) == 0 {
		f.fail(c, RuleRequired, "a value is required")
	}
	return out
}

// dateProblem says what is wrong with v, which is not a YYYY-MM-DD date: its
// form, or, written right, that no such day exists (2021-09-31).
func dateProblem(v string) string {
	var y, m, d int
	if len(v) != len(time.DateOnly) || strings.Trim(v[0:4]+v[5:7]+v[8:10], "0123456789") != "" || v[4] != '-' || v[7] != '-' {
		return fmt.Sprintf("%q is not a date (YYYY-MM-DD)", v)
	}
	fmt.Sscanf(v, "%4d-%2d-%2d", &y, &m, &d)
	if m < 1 || m > 12 {
		return fmt.Sprintf("%q is not a day: there is no month %02d", v, m)
	}
	days := time.Date(y, time.Month(m)+1, 0, 0, 0, 0, 0, time.UTC).Day()
	return fmt.Sprintf("%q is not a day: %s %d has %d days", v, time.Month(m), y, days)
}
