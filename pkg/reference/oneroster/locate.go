package oneroster

import (
	"encoding/csv"
	"errors"
	"io"
	"strings"
)

// locateColumns gives the unknown-reference errors, found in the staging
// database where only lines are kept, the byte column of their value, as
// value errors have: the files with such errors are read once more, up to
// their last such line. Only a failing load pays for it.
func locateColumns(src *Source, errs []Error) {
	byFile := map[string][]int{} // file -> indexes into errs
	for i, e := range errs {
		if e.Rule == RuleUnknownRef && e.Line > 1 && e.Column == 0 && e.Field != "" {
			byFile[e.File] = append(byFile[e.File], i)
		}
	}
	for file, idx := range byFile {
		rc, err := src.open(file)
		if err != nil {
			continue // the error keeps its line and field
		}
		locateIn(rc, errs, idx)
		rc.Close()
	}
}

func locateIn(rd io.Reader, errs []Error, idx []int) {
	r := csv.NewReader(rd)
	r.FieldsPerRecord = -1
	r.ReuseRecord = true
	header, err := r.Read()
	if err != nil {
		return
	}
	cols := map[string]int{}
	for i, h := range header {
		cols[strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))] = i
	}
	want := map[int][]int{} // line -> errors on it
	last := 0
	for _, i := range idx {
		want[errs[i].Line] = append(want[errs[i].Line], i)
		last = max(last, errs[i].Line)
	}
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			continue // a malformed row was reported when it was read
		}
		line, _ := r.FieldPos(0)
		for _, i := range want[line] {
			if c, ok := cols[errs[i].Field]; ok && c < len(rec) {
				errs[i].Line, errs[i].Column = r.FieldPos(c) // a quoted value may start on a later line
			}
		}
		if line >= last {
			return
		}
	}
}
