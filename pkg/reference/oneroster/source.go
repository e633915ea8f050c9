package oneroster

import (
	"archive/zip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
)

// Source is an export's files: a directory, a .zip, or any fs.FS.
type Source struct {
	fsys  fs.FS
	dir   string // within fsys: "." or the one folder a zip wraps the files in
	name  string
	close func() error
}

// Open opens the export at path: a directory or a .zip file. A zip may hold
// the files at its root or inside one folder.
func Open(p string) (*Source, error) {
	fi, err := os.Stat(p)
	if err != nil {
		return nil, err
	}
	if fi.IsDir() {
		return FromFS(os.DirFS(p), p), nil
	}
	zr, err := zip.OpenReader(p)
	if err != nil {
		return nil, fmt.Errorf("%s: not a directory or a zip file: %w", p, err)
	}
	s := FromFS(zr, p)
	s.close = zr.Close
	if _, err := fs.Stat(zr, "manifest.csv"); err != nil {
		// The files inside one folder (zip of a directory).
		entries, _ := fs.ReadDir(zr, ".")
		if len(entries) == 1 && entries[0].IsDir() {
			s.dir = entries[0].Name()
		}
	}
	return s, nil
}

// FromFS is an export held in fsys (its root holds manifest.csv); name is
// how messages call it.
func FromFS(fsys fs.FS, name string) *Source {
	return &Source{fsys: fsys, dir: ".", name: name, close: func() error { return nil }}
}

// Name is the export's path or name.
func (s *Source) Name() string { return s.name }

// Close releases a zip.
func (s *Source) Close() error { return s.close() }

// open opens a file of the export; a missing file is fs.ErrNotExist.
func (s *Source) open(file string) (io.ReadCloser, error) {
	f, err := s.fsys.Open(path.Join(s.dir, file))
	if err == nil {
		return f, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	// Exports made on case-insensitive systems: Orgs.csv for orgs.csv.
	entries, rerr := fs.ReadDir(s.fsys, s.dir)
	if rerr != nil {
		return nil, err
	}
	for _, e := range entries {
		if !e.IsDir() && strings.EqualFold(e.Name(), file) {
			return s.fsys.Open(path.Join(s.dir, e.Name()))
		}
	}
	return nil, err
}

// size is a file's size in bytes, 0 when unknown.
func (s *Source) size(file string) int64 {
	f, err := s.open(file)
	if err != nil {
		return 0
	}
	defer f.Close()
	if st, ok := f.(fs.File); ok {
		if fi, err := st.Stat(); err == nil {
			return fi.Size()
		}
	}
	return 0
}
