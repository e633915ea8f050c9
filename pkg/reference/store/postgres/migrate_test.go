package postgres_test

import (
	"context"
	"errors"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/interop-data/interop/pkg/reference/store"
	"github.com/interop-data/interop/pkg/reference/store/postgres/pgtest"
	"github.com/interop-data/interop/pkg/server/auth"
)

// A database of schema version 3 keeps its history's messages (migration 4
// turns them into bytes) and its tokens, which count against their client's
// quota (migration 5 reads the client out of each principal).
func TestMigrationsKeepMessagesAndTokens(t *testing.T) {
	t.Parallel()
	url := pgtest.Schema(t)
	ctx := context.Background()
	conn := connect(t, url)
	for _, f := range []string{"migrations/0001_init.sql", "migrations/0002_secrets.sql", "migrations/0003_counters.sql"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Exec(ctx, string(b)); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
	tenant, task := uuid.New(), uuid.New()
	exp := time.Unix(1_700_003_600, 0)
	for _, q := range []string{
		`CREATE TABLE schema_migrations (version integer PRIMARY KEY, applied_at bigint NOT NULL)`,
		`INSERT INTO schema_migrations VALUES (1, 0), (2, 0), (3, 0)`,
		`INSERT INTO task_history (tenant_id, task_id, sequence, kind, status, terminal, message, app_id, acknowledged_at)
			VALUES ('` + tenant.String() + `', '` + task.String() + `', 1, 'lifecycle_event', 'error', true, 'caf` + "\u00e9" + ` failed', 'app-1', 0)`,
		`INSERT INTO tokens (hash, principal, expires_at) VALUES ('old-token', convert_to('{"tenant_ids":[],"client_id":"old-client","subject":"old-client","method":"oauth2"}', 'UTF8'), ` + strconv.FormatInt(store.UnixNanos(exp), 10) + `)`,
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	s := open(t, url)
	defer s.Close()
	h, err := s.History(ctx, tenant)
	if err != nil || len(h) != 1 || h[0].Message != "caf\u00e9 failed" || h[0].AppID != "app-1" {
		t.Fatalf("history after migration 4 = %+v, %v", h, err)
	}
	p := auth.Principal{ClientID: "old-client", Subject: "old-client", Method: auth.MethodOAuth2}
	err = s.SaveTokenWithin(ctx, "new-token", p, exp.Add(time.Minute), auth.TokenQuota{After: exp.Add(-time.Hour), Max: 1})
	var qe *auth.QuotaError
	if !errors.As(err, &qe) {
		t.Fatalf("a token saved before migration 5 does not count against its client: %v", err)
	}
}
