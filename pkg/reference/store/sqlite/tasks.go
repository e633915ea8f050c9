package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/interop-data/interop/pkg/reference/store"
)

// CreateTenant implements store.Store.
func (s *Store) CreateTenant(ctx context.Context, t store.Tenant, tasks []store.NewTask, now time.Time) ([]store.Task, error) {
	t, err := t.Prepare(now)
	if err != nil {
		return nil, err
	}
	var out []store.Task
	err = s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO tenants (id, name, client_id, secret_hash, created_at) VALUES (?, ?, ?, ?, ?)`,
			t.ID.String(), t.Name, t.ClientID, t.SecretHash, store.UnixNanos(t.CreatedAt))
		if isUnique(err) {
			return fmt.Errorf("%w: tenant %s or client id %q exists", store.ErrConflict, t.ID, t.ClientID)
		}
		if err != nil {
			return fmt.Errorf("sqlite: create tenant: %w", err)
		}
		out, err = enqueue(ctx, tx, t.ID, tasks, now)
		return err
	})
	return out, err
}

const tenantCols = `id, name, client_id, secret_hash, created_at`

func scanTenant(row *sql.Row) (store.Tenant, error) {
	var t store.Tenant
	var created int64
	if err := row.Scan(&t.ID, &t.Name, &t.ClientID, &t.SecretHash, &created); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return t, fmt.Errorf("tenant %w", store.ErrNotFound)
		}
		return t, fmt.Errorf("sqlite: tenant: %w", err)
	}
	t.CreatedAt = store.FromUnixNanos(created)
	return t, nil
}

// FindTenant implements store.Store.
func (s *Store) FindTenant(ctx context.Context, id uuid.UUID) (store.Tenant, error) {
	return scanTenant(s.r.QueryRowContext(ctx, `SELECT `+tenantCols+` FROM tenants WHERE id = ?`, id.String()))
}

// FindTenantByClientID implements store.Store.
func (s *Store) FindTenantByClientID(ctx context.Context, clientID string) (store.Tenant, error) {
	if !store.Storable(clientID) {
		return store.Tenant{}, fmt.Errorf("tenant %w", store.ErrNotFound)
	}
	return scanTenant(s.r.QueryRowContext(ctx, `SELECT `+tenantCols+` FROM tenants WHERE client_id = ?`, clientID))
}

// FindTenantsByName implements store.Store. The tenants table is small
// (one row per installed integration), so a scan needs no index.
func (s *Store) FindTenantsByName(ctx context.Context, name string) ([]store.Tenant, error) {
	if !store.Storable(name) {
		return []store.Tenant{}, nil
	}
	rows, err := s.r.QueryContext(ctx, `SELECT `+tenantCols+` FROM tenants WHERE name = ? ORDER BY created_at, id`, name)
	if err != nil {
		return nil, fmt.Errorf("sqlite: tenants by name: %w", err)
	}
	defer rows.Close()
	out := []store.Tenant{}
	for rows.Next() {
		var t store.Tenant
		var created int64
		if err := rows.Scan(&t.ID, &t.Name, &t.ClientID, &t.SecretHash, &created); err != nil {
			return nil, fmt.Errorf("sqlite: tenants by name: %w", err)
		}
		t.CreatedAt = store.FromUnixNanos(created)
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: tenants by name: %w", err)
	}
	return out, nil
}

// Enqueue implements store.Store.
func (s *Store) Enqueue(ctx context.Context, tenant uuid.UUID, tasks []store.NewTask, now time.Time) ([]store.Task, error) {
	// While a sync writes the tenant in slices, its events are hidden; a
	// task enqueued now would come before some of them in the queue and
	// after all of them in sequence, so it waits for the sync to commit.
	for {
		var out []store.Task
		busy := false
		err := s.write(ctx, func(tx *sql.Tx) error {
			var err error
			if busy, err = s.settleClaim(ctx, tx, tenant); err != nil || busy {
				return err
			}
			out, err = enqueue(ctx, tx, tenant, tasks, now)
			return err
		})
		if !busy {
			return out, err
		}
		if err := awaitClaim(ctx); err != nil {
			return nil, fmt.Errorf("sqlite: enqueue: %w", err)
		}
	}
}

// enqueue appends tasks inside tx, numbering them from the tenant's counter.
func enqueue(ctx context.Context, tx *sql.Tx, tenant uuid.UUID, tasks []store.NewTask, now time.Time) ([]store.Task, error) {
	if len(tasks) == 0 {
		return nil, nil
	}
	if err := store.CheckNewTasks(tasks); err != nil {
		return nil, err
	}
	var last int64
	err := tx.QueryRowContext(ctx, `UPDATE tenants SET last_sequence = last_sequence + ? WHERE id = ? RETURNING last_sequence`,
		len(tasks), tenant.String()).Scan(&last)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("tenant %s %w", tenant, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: enqueue: %w", err)
	}
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO tasks (id, tenant_id, sequence, kind, driver, created_at, payload) VALUES (?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: enqueue: %w", err)
	}
	defer stmt.Close()
	first := last - int64(len(tasks)) + 1
	out := make([]store.Task, len(tasks))
	for i, nt := range tasks {
		payload := nt.Payload
		if len(payload) == 0 {
			payload = []byte("{}")
		}
		t := store.Task{ID: uuid.New(), TenantID: tenant, Sequence: first + int64(i), Kind: nt.Kind,
			Driver: nt.Driver, CreatedAt: time.Unix(0, now.UnixNano()).UTC(), Payload: payload}
		if _, err := stmt.ExecContext(ctx, t.ID.String(), tenant.String(), t.Sequence, string(t.Kind), t.Driver, store.UnixNanos(now), []byte(payload)); err != nil {
			return nil, fmt.Errorf("sqlite: enqueue: %w", err)
		}
		out[i] = t
	}
	return out, nil
}

const taskCols = `id, tenant_id, sequence, kind, driver, created_at, payload, leased_until, deliveries`

type scanner interface{ Scan(dest ...any) error }

// scanTask reads the taskCols of a row, and extra columns after them.
func scanTask(sc scanner, extra ...any) (store.Task, error) {
	var t store.Task
	var kind string
	var created, leased int64
	var payload []byte
	if err := sc.Scan(append([]any{&t.ID, &t.TenantID, &t.Sequence, &kind, &t.Driver, &created, &payload, &leased, &t.Deliveries}, extra...)...); err != nil {
		return t, err
	}
	t.Kind = store.TaskKind(kind)
	t.CreatedAt, t.LeasedUntil, t.Payload = store.FromUnixNanos(created), store.FromUnixNanos(leased), payload
	return t, nil
}

// LeaseTasks implements store.Store. The select and the lease are one
// UPDATE ... RETURNING inside an IMMEDIATE transaction: no other writer can
// run between choosing a task and marking it.
func (s *Store) LeaseTasks(ctx context.Context, q store.LeaseQuery) ([]store.Task, error) {
	if q.Limit <= 0 || len(q.Tenants) == 0 || !store.Storable(q.Driver) {
		return nil, nil
	}
	in, args := inClause(q.Tenants)
	now := store.UnixNanos(q.Now)
	query := `SELECT pos FROM tasks WHERE tenant_id IN ` + in + ` AND leased_until <= ?`
	args = append(args, now)
	vis, vargs := visible("pos", "hide_pos", "tasks.tenant_id", q.Tenants)
	query += vis
	args = append(args, vargs...)
	if q.Driver != "" {
		query += ` AND driver = ?`
		args = append(args, q.Driver)
	}
	query += ` ORDER BY pos LIMIT ?`
	args = append(args, q.Limit)
	until := store.UnixNanos(q.Now.Add(q.Lease))
	query = `UPDATE tasks SET leased_until = ?, deliveries = deliveries + 1
			WHERE pos IN (` + query + `) RETURNING ` + taskCols + `, pos`
	st, err := s.ws.stmt(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("sqlite: lease: %w", err)
	}
	var out []store.Task
	err = s.write(ctx, func(tx *sql.Tx) error {
		rows, err := txQuery(ctx, tx, st, query, append([]any{until}, args...)...)
		if err != nil {
			return fmt.Errorf("sqlite: lease: %w", err)
		}
		defer rows.Close()
		type posTask struct {
			pos int64
			t   store.Task
		}
		var got []posTask
		for rows.Next() {
			var pt posTask
			if pt.t, err = scanTask(rows, &pt.pos); err != nil {
				return fmt.Errorf("sqlite: lease: %w", err)
			}
			got = append(got, pt)
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("sqlite: lease: %w", err)
		}
		// RETURNING has no defined order.
		slices.SortFunc(got, func(a, b posTask) int { return int(a.pos - b.pos) })
		out = make([]store.Task, len(got))
		for i := range got {
			out[i] = got[i].t
		}
		return nil
	})
	return out, err
}

// ListTasks implements store.Store.
func (s *Store) ListTasks(ctx context.Context, q store.TaskQuery) ([]store.Task, bool, error) {
	if q.Limit <= 0 || len(q.Tenants) == 0 || !store.Storable(q.Driver) {
		return nil, false, nil
	}
	in, args := inClause(q.Tenants)
	vis, vargs := visible("pos", "hide_pos", "tasks.tenant_id", q.Tenants)
	query := `SELECT ` + taskCols + `, pos FROM tasks WHERE tenant_id IN ` + in + vis
	args = append(args, vargs...)
	if q.Driver != "" {
		query += ` AND driver = ?`
		args = append(args, q.Driver)
	}
	if q.After != 0 {
		query += ` AND pos > ?`
		args = append(args, q.After)
	}
	query += ` ORDER BY pos LIMIT ? OFFSET ?`
	args = append(args, q.Limit+1, q.Offset)
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, false, fmt.Errorf("sqlite: list tasks: %w", err)
	}
	defer rows.Close()
	var out []store.Task
	for rows.Next() {
		var pos int64
		t, err := scanTask(rows, &pos)
		if err != nil {
			return nil, false, fmt.Errorf("sqlite: list tasks: %w", err)
		}
		t.Pos = pos
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, false, fmt.Errorf("sqlite: list tasks: %w", err)
	}
	if len(out) > q.Limit {
		return out[:q.Limit], true, nil
	}
	return out, false, nil
}

// FindTask implements store.Store.
func (s *Store) FindTask(ctx context.Context, tenants []uuid.UUID, id uuid.UUID) (store.Task, error) {
	in, args := inClause(tenants)
	vis, vargs := visible("pos", "hide_pos", "tasks.tenant_id", tenants)
	t, err := scanTask(s.r.QueryRowContext(ctx, `SELECT `+taskCols+` FROM tasks WHERE id = ? AND tenant_id IN `+in+vis,
		append(append([]any{id.String()}, args...), vargs...)...))
	if errors.Is(err, sql.ErrNoRows) {
		return t, &store.TaskError{ID: id, Err: store.ErrNotFound}
	}
	if err != nil {
		return t, fmt.Errorf("sqlite: find task: %w", err)
	}
	return t, nil
}

// DeleteTask implements store.Store.
func (s *Store) DeleteTask(ctx context.Context, tenants []uuid.UUID, id uuid.UUID) (store.Task, error) {
	in, args := inClause(tenants)
	var t store.Task
	err := s.write(ctx, func(tx *sql.Tx) error {
		var err error
		vis, vargs := visible("pos", "hide_pos", "tasks.tenant_id", tenants)
		t, err = scanTask(tx.QueryRowContext(ctx, `DELETE FROM tasks WHERE id = ? AND tenant_id IN `+in+vis+` RETURNING `+taskCols,
			append(append([]any{id.String()}, args...), vargs...)...))
		if errors.Is(err, sql.ErrNoRows) {
			return &store.TaskError{ID: id, Err: store.ErrNotFound}
		}
		if err != nil {
			return fmt.Errorf("sqlite: delete task: %w", err)
		}
		return nil
	})
	return t, err
}

// AckTasks implements store.Store, set-based: whatever the size of the
// group, one IMMEDIATE transaction reads the queued tasks in one statement
// and the recorded outcomes of the others in another, then removes,
// releases and records with one statement each. Id lists travel as one
// JSON array parameter (json_each), so the statements stay the same text
// whatever the group's size.
func (s *Store) AckTasks(ctx context.Context, tenants []uuid.UUID, acks []store.Ack, now time.Time) ([]store.Receipt, error) {
	if err := store.CheckAcks(acks); err != nil {
		return nil, err
	}
	ids := make([]string, len(acks))
	for i, a := range acks {
		ids[i] = a.TaskID.String()
	}
	idList, _ := json.Marshal(ids)
	in, targs := inClause(tenants)
	var plan store.AckPlan
	err := s.write(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, ackQueuedSQL+in, append([]any{string(idList)}, targs...)...)
		if err != nil {
			return fmt.Errorf("sqlite: ack: %w", err)
		}
		queued := make(map[uuid.UUID]store.Queued, len(acks))
		for rows.Next() {
			var id, tenant uuid.UUID
			var kind string
			var seq int64
			if err := rows.Scan(&id, &tenant, &seq, &kind); err != nil {
				rows.Close()
				return fmt.Errorf("sqlite: ack: %w", err)
			}
			queued[id] = store.Queued{TenantID: tenant, Sequence: seq, Kind: store.TaskKind(kind)}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("sqlite: ack: %w", err)
		}
		var gone []string
		for i, a := range acks {
			if _, ok := queued[a.TaskID]; !ok {
				gone = append(gone, ids[i])
			}
		}
		recorded := map[uuid.UUID]store.Recorded{}
		if len(gone) > 0 {
			goneList, _ := json.Marshal(gone)
			rows, err := tx.QueryContext(ctx, ackRecordedSQL+in+` ORDER BY pos`, append([]any{string(goneList)}, targs...)...)
			if err != nil {
				return fmt.Errorf("sqlite: ack: %w", err)
			}
			for rows.Next() {
				var tid uuid.UUID
				var status string
				var at int64
				if err := rows.Scan(&tid, &status, &at); err != nil {
					rows.Close()
					return fmt.Errorf("sqlite: ack: %w", err)
				}
				if _, seen := recorded[tid]; !seen { // the first outcome recorded
					recorded[tid] = store.Recorded{Status: store.AckStatus(status), AcknowledgedAt: store.FromUnixNanos(at)}
				}
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return fmt.Errorf("sqlite: ack: %w", err)
			}
		}
		if plan, err = store.PlanAcks(acks, queued, recorded, now); err != nil {
			return err
		}
		for _, set := range []struct {
			ids []uuid.UUID
			sql string
		}{
			{plan.Remove, `DELETE FROM tasks WHERE id IN (SELECT value FROM json_each(?))`},
			{plan.Release, `UPDATE tasks SET leased_until = 0 WHERE id IN (SELECT value FROM json_each(?))`},
		} {
			if len(set.ids) == 0 {
				continue
			}
			list, _ := json.Marshal(set.ids) // uuid.UUID marshals as its string form
			if _, err := tx.ExecContext(ctx, set.sql, string(list)); err != nil {
				return fmt.Errorf("sqlite: ack: %w", err)
			}
		}
		// History rows in acknowledgement order, 64 to a statement. The
		// driver copies every bound message into C memory and frees the
		// copies together when the statement ends; with 500 rows of 4 KB
		// messages that was megabytes freed at once, which its allocator
		// hands back to the kernel (madvise) and takes again for the next
		// chunk: a third of a large group acknowledgement's CPU. Small
		// chunks reuse the same memory.
		hist := make([]any, 0, 9*len(plan.History))
		for _, h := range plan.History {
			terminal := 0
			if h.Status.Terminal() {
				terminal = 1
			}
			hist = append(hist, h.TenantID.String(), h.TaskID.String(), h.Sequence, string(h.Kind), string(h.Status), terminal, h.Message, h.AppID, store.UnixNanos(now))
		}
		const cols, chunk = 9, 64
		for len(hist) > 0 {
			n := min(len(hist), cols*chunk)
			rowsSQL := strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?, ?, ?, ?, ?),", n/cols), ",")
			if _, err := tx.ExecContext(ctx, `INSERT INTO task_history
				(tenant_id, task_id, sequence, kind, status, terminal, message, app_id, acknowledged_at) VALUES `+rowsSQL, hist[:n]...); err != nil {
				return fmt.Errorf("sqlite: ack: %w", err)
			}
			hist = hist[n:]
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return plan.Receipts, nil
}

// The lookups of an acknowledgement, each followed by the tenants' IN list.
// The unary + keeps the planner off the tenant indexes: without statistics
// it chose to scan the tenant's whole queue (or history) for every
// acknowledgement, a cost that grew with the queue instead of with the
// acknowledgement. TestAckLookupsUseTheIDIndexes holds the plans.
const (
	ackQueuedSQL   = `SELECT id, tenant_id, sequence, kind FROM tasks WHERE id IN (SELECT value FROM json_each(?)) AND +tenant_id IN `
	ackRecordedSQL = `SELECT task_id, status, acknowledged_at FROM task_history WHERE task_id IN (SELECT value FROM json_each(?)) AND terminal = 1 AND +tenant_id IN `
)

// History implements store.Store.
func (s *Store) History(ctx context.Context, tenant uuid.UUID) ([]store.HistoryEntry, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT tenant_id, task_id, sequence, kind, status, message, app_id, acknowledged_at
		FROM task_history WHERE tenant_id = ? ORDER BY pos`, tenant.String())
	if err != nil {
		return nil, fmt.Errorf("sqlite: history: %w", err)
	}
	defer rows.Close()
	var out []store.HistoryEntry
	for rows.Next() {
		var h store.HistoryEntry
		var kind, status string
		var at int64
		if err := rows.Scan(&h.TenantID, &h.TaskID, &h.Sequence, &kind, &status, &h.Message, &h.AppID, &at); err != nil {
			return nil, fmt.Errorf("sqlite: history: %w", err)
		}
		h.Kind, h.Status, h.AcknowledgedAt = store.TaskKind(kind), store.AckStatus(status), store.FromUnixNanos(at)
		out = append(out, h)
	}
	return out, rows.Err()
}
