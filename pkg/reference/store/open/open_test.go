package open

import (
	"context"
	"errors"
	"io/fs"
	"path/filepath"
	"testing"
)

func TestSQLitePath(t *testing.T) {
	t.Parallel()
	for dsn, want := range map[string]string{
		"./interop.db":                      "./interop.db",
		"sqlite:x.db":                       "x.db",
		"sqlite:///tmp/x.db":                "/tmp/x.db",
		"postgres://h/db":                   "",
		"postgresql://h/db?sslmode=disable": "",
	} {
		got, ok := SQLitePath(dsn)
		if got != want || ok != (want != "") {
			t.Errorf("SQLitePath(%q) = %q, %v", dsn, got, ok)
		}
	}
}

func TestExistingRefusesAMissingFileAndStoreCreatesIt(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "x.db")
	if _, err := Existing(context.Background(), p); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Existing of a missing file: %v", err)
	}
	st, err := Store(context.Background(), "sqlite:"+p)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	st, err = Existing(context.Background(), p)
	if err != nil {
		t.Fatalf("Existing after Store: %v", err)
	}
	st.Close()
}
