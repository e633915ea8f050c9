package drift

import (
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
)

// Report is the drift report, as JSON served at /_interop/report and
// written by interop proxy --report and interop check.
type Report struct {
	// Operations holds every operation seen, by operationId.
	Operations map[string]*Operation `json:"operations"`
	// Unmatched are the requests under the API's base path that no
	// operation of the contract matches, by method and path (segments that
	// are not literal segments of the spec's paths read {id}).
	Unmatched []Unmatched `json:"unmatched"`
	// Unseen lists the operations of the contract no request reached.
	Unseen []string `json:"unseen"`
	// Unconfirmed says, for each operation the spec marks x-unconfirmed,
	// "confirmed" (answered with a success status), "refuted" (answered
	// 405, or 404 with a body that is not the API's error, while other
	// operations route) or "unseen".
	Unconfirmed map[string]string `json:"unconfirmed"`
	// Passthrough counts the requests outside the API's base path (the
	// token endpoint, say): forwarded, not checked.
	Passthrough int `json:"passthrough"`
	// UpstreamErrors counts the requests the upstream did not answer, by
	// operation ("" outside the API) and kind: timeout, unreachable.
	UpstreamErrors []UpstreamError `json:"upstream_errors"`
}

// Operation is what was seen of one operation.
type Operation struct {
	Calls int `json:"calls"`
	// Statuses counts the upstream's answers by status code.
	Statuses map[string]int `json:"statuses"`
	// Violations are grouped by direction, pointer and rule.
	Violations []Violation `json:"violations"`
	// Variants counts the exchanges that used each wire variant class.
	Variants map[string]int `json:"variants"`
	// NotChecked counts the messages that could not be checked, by reason
	// ("too large: request", "too large: response", "content-encoding",
	// "no body recorded", "cut short", "busy").
	NotChecked map[string]int `json:"not_checked,omitempty"`
}

// Violation is a group of identical breaches of the contract.
type Violation struct {
	Direction string `json:"direction"` // request or response
	// Pointer is the JSON pointer of the value in the body, array indices
	// as *, names the spec does not declare as {key}; or, outside the
	// body, "status", "header Content-Type", "query parameter page_size"...
	Pointer string `json:"pointer"`
	// Rule is the schema keyword or check broken (required, type, format,
	// enum, status, contentType, parameter, json, ...).
	Rule  string `json:"rule"`
	Count int    `json:"count"`
}

// Unmatched is a group of requests no operation matches.
type Unmatched struct {
	Method string `json:"method"`
	Path   string `json:"path"`
	Count  int    `json:"count"`
}

// UpstreamError is a group of requests the upstream did not answer.
type UpstreamError struct {
	Operation string `json:"operation"`
	Error     string `json:"error"` // timeout or unreachable
	Count     int    `json:"count"`
}

// The states of an x-unconfirmed operation.
const (
	Confirmed = "confirmed"
	Refuted   = "refuted"
	NotSeen   = "unseen"
)

// Violations counts the violations of the report, by direction.
func (r *Report) Violations() (request, response int) {
	for _, o := range r.Operations {
		for _, v := range o.Violations {
			if v.Direction == "request" {
				request += v.Count
			} else {
				response += v.Count
			}
		}
	}
	return request, response
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// ReadReport reads a report WriteJSON wrote.
func ReadReport(rd io.Reader) (*Report, error) {
	var r Report
	if err := json.NewDecoder(rd).Decode(&r); err != nil {
		return nil, err
	}
	return &r, nil
}

// sortReport puts every list of r in a stable order.
func sortReport(r *Report) {
	for _, o := range r.Operations {
		slices.SortFunc(o.Violations, func(a, b Violation) int {
			if a.Direction != b.Direction {
				return cmpString(a.Direction, b.Direction)
			}
			if a.Pointer != b.Pointer {
				return cmpString(a.Pointer, b.Pointer)
			}
			return cmpString(a.Rule, b.Rule)
		})
	}
	slices.SortFunc(r.Unmatched, func(a, b Unmatched) int {
		if a.Path != b.Path {
			return cmpString(a.Path, b.Path)
		}
		return cmpString(a.Method, b.Method)
	})
	slices.Sort(r.Unseen)
	slices.SortFunc(r.UpstreamErrors, func(a, b UpstreamError) int {
		if a.Operation != b.Operation {
			return cmpString(a.Operation, b.Operation)
		}
		return cmpString(a.Error, b.Error)
	})
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func statusKey(s int) string { return strconv.Itoa(s) }

// WriteFile writes the report as JSON to path, whole or not at all: a
// temporary file in the same directory renamed over path.
func (r *Report) WriteFile(path string) error {
	dir, name := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+name+".*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // a no-op once renamed
	if err := r.WriteJSON(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
