package reference_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/interop-data/interop/pkg/reference/referencetest"
	"github.com/interop-data/interop/pkg/reference/store/open"
	"github.com/interop-data/interop/pkg/reference/store/postgres/pgtest"
	"github.com/interop-data/interop/pkg/server"
)

// BenchmarkPagingWalkLarge walks GET /rostering/persons, 2000 a page, over
// 100,000 and 1,000,000 persons on each store (response validation off, to
// measure the paging itself), following paging.next (the keyset cursor),
// and, at 1,000,000, also by page numbers without a cursor: the OFFSET walk
// that was the only way before, as the baseline in the same run. One
// iteration is one whole walk; compare persons/s across sizes.
//
// The persons are seeded by one SQL statement per store (the store's own
// load path is not what this measures). Run with -benchtime 1x.
func BenchmarkPagingWalkLarge(b *testing.B) {
	if testing.Short() {
		b.Skip("the million-person walks are skipped in short mode")
	}
	stores := map[string]func(b *testing.B) string{
		"sqlite":   func(b *testing.B) string { return filepath.Join(b.TempDir(), "walk.db") },
		"postgres": func(b *testing.B) string { return pgtest.Schema(b) },
	}
	for _, name := range []string{"sqlite", "postgres"} {
		for _, n := range []int{100_000, 1_000_000} {
			b.Run(fmt.Sprintf("store=%s/n=%dk", name, n/1000), func(b *testing.B) {
				db := stores[name](b)
				env := referencetest.Start(b, referencetest.WithTenants(1), referencetest.WithDBPath(db), referencetest.WithOpener(open.Store),
					referencetest.WithServerOptions(server.WithResponseValidation(server.ValidationOff)))
				seedPersons(b, db, env.Tenants[0].ID.String(), n)
				total := n + len(env.Tenants[0].Roster.Persons)
				token := env.Token(b, 0)
				walks := []string{"cursor"}
				if n == 1_000_000 {
					walks = append(walks, "page")
				}
				for _, by := range walks {
					b.Run("by="+by, func(b *testing.B) {
						for range b.N {
							if seen := walkPersons(b, env.URL, token, by == "page"); seen != total {
								b.Fatalf("walk saw %d persons, want %d", seen, total)
							}
						}
						b.ReportMetric(float64(total*b.N)/b.Elapsed().Seconds(), "persons/s")
					})
				}
			})
		}
	}
}

// walkPersons walks the persons list: following paging.next, or (byPage)
// asking for page 0, 1, 2, ... without a cursor.
func walkPersons(b *testing.B, base, token string, byPage bool) int {
	seen := 0
	next := base + "/rostering/persons?page_size=2000"
	for page := 1; next != ""; page++ {
		var p struct {
			Data   []json.RawMessage
			Paging struct{ Next *string }
		}
		benchGet(b, next, token, &p)
		seen += len(p.Data)
		next = ""
		if p.Paging.Next != nil {
			next = *p.Paging.Next
			if byPage {
				next = fmt.Sprintf("%s/rostering/persons?page=%d&page_size=2000", base, page)
			}
		}
	}
	return seen
}

// seedPersons adds n students to the tenant in one statement.
func seedPersons(b *testing.B, db, tenant string, n int) {
	ctx := context.Background()
	const doc = `{"$sys":{"id":"%s","type":"Person","person_type":"Student","label":"Zoë Núñez-%s","school_year":2026},"local_id":"S%s","name":{"first":"Zoë","last":"Núñez-%s"},"email":"student%s@example.org","grad_year":"2032"}`
	if strings.HasPrefix(db, "postgres") {
		conn, err := pgx.Connect(ctx, db)
		if err != nil {
			b.Fatal(err)
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, `INSERT INTO objects (tenant_id, id, kind, subtype, label, data)
			SELECT $1, u::uuid, 'Person', 'Student', 'Zoë Núñez-' || i, convert_to(format($2, u, i, i, i, i), 'UTF8')
			FROM generate_series(1, $3) AS i, LATERAL (SELECT '00000000-0000-4000-8000-' || lpad(i::text, 12, '0') AS u) AS x
			ORDER BY i`, tenant, doc, n); err != nil {
			b.Fatal(err)
		}
		if _, err := conn.Exec(ctx, `ANALYZE objects`); err != nil {
			b.Fatal(err)
		}
		return
	}
	conn, err := sql.Open("sqlite", db+"?_pragma=busy_timeout(10000)")
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
		INSERT INTO objects (tenant_id, id, kind, subtype, label, data)
		SELECT ?, u, 'Person', 'Student', 'Zoë Núñez-' || i, CAST(printf(?, u, i, i, i, i) AS BLOB)
		FROM (SELECT i, printf('00000000-0000-4000-8000-%012d', i) AS u FROM n)`,
		n, tenant, doc); err != nil {
		b.Fatal(err)
	}
}
