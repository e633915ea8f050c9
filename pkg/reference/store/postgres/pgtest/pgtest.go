// Package pgtest gives tests a PostgreSQL database of their own: a fresh
// schema in the server that INTEROP_TEST_POSTGRES names, dropped when the
// test ends. Without the variable a test skips with a one-line reason; with
// CI=true a missing PostgreSQL is a failure, not a skip.
package pgtest

import (
	"context"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// EnvVar names the server the tests use, e.g.
// postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable.
const EnvVar = "INTEROP_TEST_POSTGRES"

// URL returns the server's URL, skipping the test when there is none (and
// failing it under CI=true).
func URL(t testing.TB) string {
	t.Helper()
	u := os.Getenv(EnvVar)
	if u == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not set, and CI=true: the PostgreSQL tests must run", EnvVar)
		}
		t.Skipf("PostgreSQL tests skipped: %s is not set", EnvVar)
	}
	return u
}

// Schema creates a fresh schema, drops it (with everything in it) when the
// test ends, and returns a URL whose connections work in it.
func Schema(t testing.TB) string {
	t.Helper()
	base := URL(t)
	name := "interop_test_" + strings.ReplaceAll(uuid.NewString(), "-", "")[:16]
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("pgtest: connect to %s: %v", EnvVar, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `CREATE SCHEMA `+name); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() {
		conn, err := pgx.Connect(context.Background(), base)
		if err != nil {
			t.Errorf("pgtest: drop schema %s: %v", name, err)
			return
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(context.Background(), `DROP SCHEMA `+name+` CASCADE`); err != nil {
			t.Errorf("pgtest: drop schema %s: %v", name, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("pgtest: %s: %v", EnvVar, err)
	}
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	return u.String()
}
