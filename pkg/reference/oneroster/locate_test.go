package oneroster

import (
	"bytes"
	"strings"
	"testing"
)

// locateIn finds the byte column of the value an error names on its line,
// past multi-line quoted values and malformed rows, and leaves errors it
// cannot place alone.
func TestLocateIn(t *testing.T) {
	t.Parallel()
	data := "\ufeffsourcedId, userSourcedId ,classSourcedId\n" +
		"e1,\"two\nlines\",c1\n" + // lines 2-3
		"e2,bad\"quote,c2\n" + // line 4: malformed, skipped
		"e3,u3,c3\n" // line 5
	errs := []Error{
		{File: "enrollments.csv", Line: 2, Field: "classSourcedId", Rule: RuleUnknownRef},
		{File: "enrollments.csv", Line: 5, Field: "userSourcedId", Rule: RuleUnknownRef},
		{File: "enrollments.csv", Line: 5, Field: "noSuchColumn", Rule: RuleUnknownRef},
		{File: "enrollments.csv", Line: 9, Field: "userSourcedId", Rule: RuleUnknownRef},
	}
	locateIn(strings.NewReader(data), errs, []int{0, 1, 2, 3})
	for i, want := range [][2]int{{3, 8}, {5, 4}, {5, 0}, {9, 0}} {
		if errs[i].Line != want[0] || errs[i].Column != want[1] {
			t.Errorf("error %d (%s): at %d:%d, want %d:%d", i, errs[i].Field, errs[i].Line, errs[i].Column, want[0], want[1])
		}
	}
}

func FuzzLocateColumns(f *testing.F) {
	f.Add([]byte("sourcedId,userSourcedId\ne1,u1\ne2,\"u\n2\"\n"), uint8(2), uint8(1))
	f.Add([]byte("\ufeffsourcedId,classSourcedId\ne1,\"c\"\"1\"\n"), uint8(2), uint8(1))
	f.Add([]byte("a,b\n\"x"), uint8(3), uint8(0))
	f.Fuzz(func(t *testing.T, data []byte, line, field uint8) {
		fields := []string{"sourcedId", "userSourcedId", "classSourcedId", "b"}
		errs := []Error{{File: "x.csv", Line: int(line), Field: fields[int(field)%len(fields)], Rule: RuleUnknownRef}}
		locateIn(bytes.NewReader(data), errs, []int{0})
		if c := errs[0].Column; c < 0 || c > len(data)+1 {
			t.Fatalf("column %d for %d bytes", c, len(data))
		}
	})
}
