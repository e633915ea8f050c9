package oneroster

import (
	"fmt"
	"io"
	"slices"
	"strings"
)

// Mode is how the manifest says a file is to be processed.
type Mode string

// The processing modes of OneRoster 1.1.
const (
	// Bulk: the file is the whole of its kind; objects of that kind the
	// tenant holds that are not in the file are deleted.
	Bulk Mode = "bulk"
	// Delta: the file's rows are changes; status=tobedeleted deletes.
	Delta Mode = "delta"
	// Absent: the export says nothing about the kind; it is left alone.
	Absent Mode = "absent"
)

// Manifest is the parsed manifest.csv.
type Manifest struct {
	// Modes of the rostering files the loader reads, by manifest name
	// (FileOrgs, ...). A file the manifest does not name is Absent.
	Modes map[string]Mode
	// Ignored are files the manifest marks bulk or delta that the loader
	// does not read (gradebook and resources: lineItems, results, ...).
	Ignored []string
}

// Mode is the mode of file (Absent when not named).
func (m Manifest) Mode(file string) Mode {
	if md, ok := m.Modes[file]; ok {
		return md
	}
	return Absent
}

// ReadManifest parses manifest.csv: a propertyName,value header, then
// manifest.version (1.0), oneroster.version (1.1) and file.<name> rows whose
// value is bulk, delta or absent. Other properties (source.systemName, ...)
// are read and ignored. Errors are a *ValidationError.
func ReadManifest(rd io.Reader) (Manifest, error) {
	errs := newErrorList(DefaultErrorCap)
	m := readManifest(rd, errs)
	return m, errs.err()
}

func readManifest(rd io.Reader, errs *errorList) Manifest {
	const name = "manifest.csv"
	m := Manifest{Modes: map[string]Mode{}}
	f := openCSV(name, rd, []string{"propertyName", "value"}, errs)
	if f == nil {
		return m
	}
	seen := map[string]bool{}
	version := ""
	for f.next() {
		prop, val := f.req("propertyName"), f.get("value")
		if !f.ok {
			continue
		}
		if seen[prop] {
			f.fail("propertyName", RuleManifest, "property %q is given twice", prop)
			continue
		}
		seen[prop] = true
		switch {
		case prop == "oneroster.version":
			version = val
			if val != "1.1" {
				f.fail("value", RuleManifest, "oneroster.version is %q; this loader reads OneRoster 1.1", val)
			}
		case prop == "manifest.version":
			if val != "1.0" {
				f.fail("value", RuleManifest, "manifest.version is %q; OneRoster 1.1 manifests are version 1.0", val)
			}
		case strings.HasPrefix(prop, "file."):
			md := Mode(strings.ToLower(val))
			if md != Bulk && md != Delta && md != Absent {
				f.fail("value", RuleManifest, "%s is %q, not bulk, delta or absent", prop, val)
				continue
			}
			file := strings.TrimPrefix(prop, "file.")
			if slices.Contains(Files, file) {
				m.Modes[file] = md
			} else if md != Absent {
				m.Ignored = append(m.Ignored, file)
			}
		}
	}
	if version == "" && errs.perFile[name] == 0 {
		errs.add(Error{File: name, Rule: RuleManifest, Msg: "oneroster.version is missing"})
	}
	return m
}

// String renders the modes for a summary: "orgs=bulk users=delta ...".
func (m Manifest) String() string {
	var b strings.Builder
	for _, f := range Files {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s=%s", f, m.Mode(f))
	}
	return b.String()
}
