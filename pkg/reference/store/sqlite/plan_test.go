package sqlite

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// An acknowledgement finds its tasks, and a repeated one its first outcome,
// through the id indexes: a plan through a tenant index reads the tenant's
// whole queue or history for every acknowledgement (the planner's choice
// without statistics, until the unary + in the queries).
func TestAckLookupsUseTheIDIndexes(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "plan.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, c := range []struct{ query, want string }{
		{ackQueuedSQL + "(?, ?)", "USING INDEX sqlite_autoindex_tasks_1 (id=?)"},
		{ackRecordedSQL + "(?, ?) ORDER BY pos", "USING INDEX task_history_by_task (task_id=? AND terminal=?)"},
	} {
		rows, err := s.r.QueryContext(ctx, "EXPLAIN QUERY PLAN "+c.query, `["a"]`, "t1", "t2")
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, notused int
			var detail string
			if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		if got := strings.Join(plan, "\n"); !strings.Contains(got, c.want) {
			t.Errorf("plan of %s\n%s\nwant a step %q", c.query, got, c.want)
		}
	}
}
