package breaking

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/oasdiff/oasdiff/checker"
	"github.com/oasdiff/oasdiff/diff"
	"github.com/oasdiff/oasdiff/load"
)

// Change is one change between two versions of the spec that oasdiff reports.
type Change struct {
	Rule        string // oasdiff's id, e.g. "api-removed-without-deprecation"
	Breaking    bool   // level error; false for a warning (possibly breaking)
	Method      string // "GET"; empty outside an operation
	Path        string // "/rostering/orgs"
	OperationID string
	Text        string // oasdiff's message
	Recorded    bool   // the CHANGELOG's Unreleased section records it
}

// Operation is "METHOD /path", or "" for a change outside any operation.
func (c Change) Operation() string {
	if c.Method == "" {
		return ""
	}
	return c.Method + " " + c.Path
}

func (c Change) String() string {
	where := c.Operation()
	if where == "" {
		where = "(no operation)"
	}
	return fmt.Sprintf("%s: %s [%s]", where, c.Text, c.Rule)
}

// UnrecordedError is returned by Check when breaking changes are not
// recorded in the CHANGELOG.
type UnrecordedError struct {
	Changes []Change
}

func (e *UnrecordedError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d breaking change(s) of the API are not recorded in CHANGELOG.md", len(e.Changes))
	b.WriteString(" (name each operation, as METHOD /path or its operationId, under \"### Breaking\" in \"## [Unreleased]\"):")
	for _, c := range e.Changes {
		b.WriteString("\n  ")
		b.WriteString(c.String())
	}
	return b.String()
}

// Diff returns what changed from base to revision (both OpenAPI documents),
// at the levels error (Breaking) and warning, ordered by operation.
func Diff(base, revision []byte) ([]Change, error) {
	loader := openapi3.NewLoader()
	// allOf is merged first (oasdiff --flatten-allof): wrapping a $ref in a
	// one-element allOf, as the spec does to steer the Go generator, changes
	// no message on the wire and must not read as a removed schema.
	s1, err := load.NewSpecInfoFromData(loader, base, "base/openapi.yaml", load.WithFlattenAllOf())
	if err != nil {
		return nil, fmt.Errorf("breaking: load the base spec: %w", err)
	}
	s2, err := load.NewSpecInfoFromData(openapi3.NewLoader(), revision, "api/openapi.yaml", load.WithFlattenAllOf())
	if err != nil {
		return nil, fmt.Errorf("breaking: load the revised spec: %w", err)
	}
	d, sources, err := diff.GetPathsDiff(diff.NewConfig(), []*load.SpecInfo{s1}, []*load.SpecInfo{s2})
	if err != nil {
		return nil, fmt.Errorf("breaking: diff: %w", err)
	}
	found := checker.CheckBackwardCompatibilityUntilLevel(checker.NewConfig(checker.GetAllChecks()), d, sources, checker.WARN)
	l := checker.NewDefaultLocalizer()
	out := make([]Change, 0, len(found))
	for _, c := range found {
		out = append(out, Change{
			Rule:        c.GetId(),
			Breaking:    c.GetLevel() == checker.ERR,
			Method:      strings.ToUpper(c.GetOperation()),
			Path:        c.GetPath(),
			OperationID: c.GetOperationId(),
			Text:        c.GetUncolorizedText(l),
		})
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Path != out[j].Path {
			return out[i].Path < out[j].Path
		}
		return out[i].Method < out[j].Method
	})
	return out, nil
}

// Check diffs base and revision and marks each change recorded or not by
// changelog (the text of CHANGELOG.md). It returns every change, and an
// *UnrecordedError when a breaking one is not recorded.
func Check(base, revision, changelog []byte) ([]Change, error) {
	changes, err := Diff(base, revision)
	if err != nil {
		return nil, err
	}
	section, err := Unreleased(changelog)
	if err != nil {
		return changes, err
	}
	notes := breakingNotes(section)
	var missing []Change
	for i := range changes {
		c := &changes[i]
		c.Recorded = recorded(notes, *c)
		if c.Breaking && !c.Recorded {
			missing = append(missing, *c)
		}
	}
	if len(missing) > 0 {
		return changes, &UnrecordedError{Changes: missing}
	}
	return changes, nil
}

// ErrNoUnreleased means the CHANGELOG has no "## [Unreleased]" section.
var ErrNoUnreleased = errors.New(`breaking: CHANGELOG.md has no "## [Unreleased]" section`)

// Unreleased returns the body of the "## [Unreleased]" section of a
// keep-a-changelog file: the lines after its heading, up to the next
// second-level heading.
func Unreleased(changelog []byte) (string, error) {
	var b strings.Builder
	in, found := false, false
	sc := bufio.NewScanner(bytes.NewReader(changelog))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "## ") {
			in = strings.EqualFold(strings.Trim(strings.TrimSpace(line[3:]), "[]"), "unreleased")
			found = found || in
			continue
		}
		if in {
			b.WriteString(line)
			b.WriteByte('\n')
		}
	}
	if err := sc.Err(); err != nil {
		return "", fmt.Errorf("breaking: read CHANGELOG.md: %w", err)
	}
	if !found {
		return "", ErrNoUnreleased
	}
	return b.String(), nil
}

// breakingNotes returns the "### Breaking..." subsections of an Unreleased
// section, joined.
func breakingNotes(section string) string {
	var b strings.Builder
	in := false
	for line := range strings.SplitSeq(section, "\n") {
		if strings.HasPrefix(line, "### ") {
			in = strings.HasPrefix(strings.ToLower(strings.TrimSpace(line[4:])), "breaking")
			continue
		}
		if in {
			b.WriteString(line)
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// recorded reports whether notes name c's operation ("GET /x", the path
// ending at a non-path character) or its operationId (as a whole word).
func recorded(notes string, c Change) bool {
	if strings.TrimSpace(notes) == "" {
		return false
	}
	if c.Method == "" {
		return true
	}
	op := regexp.MustCompile(`(?i)\b` + regexp.QuoteMeta(c.Method) + `\s+` + regexp.QuoteMeta(c.Path) + `([^A-Za-z0-9_{}/.~-]|$)`)
	if op.MatchString(notes) {
		return true
	}
	if c.OperationID != "" {
		id := regexp.MustCompile(`(^|[^A-Za-z0-9_])` + regexp.QuoteMeta(c.OperationID) + `([^A-Za-z0-9_]|$)`)
		return id.MatchString(notes)
	}
	return false
}
