package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/interop-data/interop/pkg/reference/store"
)

// CreateTenant implements store.Store.
func (s *Store) CreateTenant(ctx context.Context, t store.Tenant, tasks []store.NewTask, now time.Time) ([]store.Task, error) {
	t, err := t.Prepare(now)
	if err != nil {
		return nil, err
	}
	var out []store.Task
	err = s.write(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO tenants (id, name, client_id, secret_hash, created_at) VALUES ($1, $2, $3, $4, $5)`,
			t.ID, t.Name, t.ClientID, t.SecretHash, store.UnixNanos(t.CreatedAt))
		if isUnique(err) {
			return fmt.Errorf("%w: tenant %s or client id %q exists", store.ErrConflict, t.ID, t.ClientID)
		}
		if err != nil {
			return fmt.Errorf("postgres: create tenant: %w", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO tenant_counters (tenant_id) VALUES ($1)`, t.ID); err != nil {
			return fmt.Errorf("postgres: create tenant: %w", err)
		}
		out, err = enqueue(ctx, tx, t.ID, tasks, now)
		return err
	})
	return out, err
}

const tenantCols = `id, name, client_id, secret_hash, created_at`

func scanTenant(row pgx.Row) (store.Tenant, error) {
	var t store.Tenant
	var created int64
	if err := row.Scan(&t.ID, &t.Name, &t.ClientID, &t.SecretHash, &created); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return t, fmt.Errorf("tenant %w", store.ErrNotFound)
		}
		return t, fmt.Errorf("postgres: tenant: %w", err)
	}
	t.CreatedAt = store.FromUnixNanos(created)
	return t, nil
}

// FindTenant implements store.Store.
func (s *Store) FindTenant(ctx context.Context, id uuid.UUID) (store.Tenant, error) {
	return scanTenant(s.pool.QueryRow(ctx, `SELECT `+tenantCols+` FROM tenants WHERE id = $1`, id))
}

// FindTenantByClientID implements store.Store.
func (s *Store) FindTenantByClientID(ctx context.Context, clientID string) (store.Tenant, error) {
	if !store.Storable(clientID) {
		return store.Tenant{}, fmt.Errorf("tenant %w", store.ErrNotFound)
	}
	return scanTenant(s.pool.QueryRow(ctx, `SELECT `+tenantCols+` FROM tenants WHERE client_id = $1`, clientID))
}

// FindTenantsByName implements store.Store. The tenants table is small
// (one row per installed integration), so a scan needs no index.
func (s *Store) FindTenantsByName(ctx context.Context, name string) ([]store.Tenant, error) {
	if !store.Storable(name) {
		return []store.Tenant{}, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT `+tenantCols+` FROM tenants WHERE name = $1 ORDER BY created_at, id`, name)
	if err != nil {
		return nil, fmt.Errorf("postgres: tenants by name: %w", err)
	}
	defer rows.Close()
	out := []store.Tenant{}
	for rows.Next() {
		var t store.Tenant
		var created int64
		if err := rows.Scan(&t.ID, &t.Name, &t.ClientID, &t.SecretHash, &created); err != nil {
			return nil, fmt.Errorf("postgres: tenants by name: %w", err)
		}
		t.CreatedAt = store.FromUnixNanos(created)
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: tenants by name: %w", err)
	}
	return out, nil
}

// Enqueue implements store.Store.
func (s *Store) Enqueue(ctx context.Context, tenant uuid.UUID, tasks []store.NewTask, now time.Time) ([]store.Task, error) {
	var out []store.Task
	err := s.write(ctx, func(tx pgx.Tx) error {
		var err error
		out, err = enqueue(ctx, tx, tenant, tasks, now)
		return err
	})
	return out, err
}

// enqueue appends tasks inside tx, numbering them from the tenant's
// counter; the counter's row lock orders concurrent enqueues of a tenant.
// The counter is a row of its own (migration 3): a row the transaction
// updates again and again must not be one its inserts check.
func enqueue(ctx context.Context, tx pgx.Tx, tenant uuid.UUID, tasks []store.NewTask, now time.Time) ([]store.Task, error) {
	if len(tasks) == 0 {
		return nil, nil
	}
	if err := store.CheckNewTasks(tasks); err != nil {
		return nil, err
	}
	var last int64
	err := tx.QueryRow(ctx, `UPDATE tenant_counters SET last_sequence = last_sequence + $1 WHERE tenant_id = $2 RETURNING last_sequence`,
		len(tasks), tenant).Scan(&last)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("tenant %s %w", tenant, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: enqueue: %w", err)
	}
	out := newTasks(tenant, last-int64(len(tasks)), tasks, now, uuid.New)
	return out, insertTasks(ctx, tx, out)
}

// newTasks numbers tasks after the sequence number last, with ids from id.
func newTasks(tenant uuid.UUID, last int64, tasks []store.NewTask, now time.Time, id func() uuid.UUID) []store.Task {
	out := make([]store.Task, len(tasks))
	created := time.Unix(0, now.UnixNano()).UTC()
	for i, nt := range tasks {
		payload := nt.Payload
		if len(payload) == 0 {
			payload = []byte("{}")
		}
		out[i] = store.Task{ID: id(), TenantID: tenant, Sequence: last + 1 + int64(i), Kind: nt.Kind,
			Driver: nt.Driver, CreatedAt: created, Payload: payload}
	}
	return out
}

// copyTasks is the number of tasks from which insertTasks copies them
// (two round trips) rather than inserting them (one).
const copyTasks = 64

// insertTasks writes ts, numbered already, in their order (pos follows it).
// Many go in by binary COPY: PostgreSQL writes a page of rows per WAL
// record instead of one per row, and no array is built and taken apart.
func insertTasks(ctx context.Context, tx pgx.Tx, ts []store.Task) error {
	if len(ts) >= copyTasks {
		_, err := tx.CopyFrom(ctx, pgx.Identifier{"tasks"}, []string{"id", "tenant_id", "sequence", "kind", "driver", "created_at", "payload"},
			pgx.CopyFromSlice(len(ts), func(i int) ([]any, error) {
				t := &ts[i]
				return []any{[16]byte(t.ID), [16]byte(t.TenantID), t.Sequence, string(t.Kind), t.Driver, store.UnixNanos(t.CreatedAt), []byte(t.Payload)}, nil
			}))
		if err != nil {
			return fmt.Errorf("postgres: enqueue: %w", err)
		}
		return nil
	}
	ids := make([]uuid.UUID, len(ts))
	seqs := make([]int64, len(ts))
	kinds := make([]string, len(ts))
	drivers := make([]string, len(ts))
	payloads := make([][]byte, len(ts))
	for i, t := range ts {
		ids[i], seqs[i], kinds[i], drivers[i], payloads[i] = t.ID, t.Sequence, string(t.Kind), t.Driver, t.Payload
	}
	if _, err := tx.Exec(ctx, `INSERT INTO tasks (id, tenant_id, sequence, kind, driver, created_at, payload)
		SELECT id, $1, seq, kind, driver, $2, payload
		FROM unnest($3::uuid[], $4::bigint[], $5::text[], $6::text[], $7::bytea[]) AS t (id, seq, kind, driver, payload)`,
		ts[0].TenantID, store.UnixNanos(ts[0].CreatedAt), ids, seqs, kinds, drivers, payloads); err != nil {
		return fmt.Errorf("postgres: enqueue: %w", err)
	}
	return nil
}

const taskCols = `id, tenant_id, sequence, kind, driver, created_at, payload, leased_until, deliveries`

// scanTask reads the taskCols of a row, and extra columns after them.
func scanTask(row pgx.Row, extra ...any) (store.Task, error) {
	var t store.Task
	var kind string
	var created, leased int64
	var payload []byte
	if err := row.Scan(append([]any{&t.ID, &t.TenantID, &t.Sequence, &kind, &t.Driver, &created, &payload, &leased, &t.Deliveries}, extra...)...); err != nil {
		return t, err
	}
	t.Kind, t.CreatedAt, t.LeasedUntil, t.Payload = store.TaskKind(kind), store.FromUnixNanos(created), store.FromUnixNanos(leased), payload
	return t, nil
}

// LeaseTasks implements store.Store: one statement selects the next visible
// tasks FOR UPDATE SKIP LOCKED and leases them. A task another transaction
// is leasing is skipped, not waited for; one whose lease that transaction
// has just committed is re-checked against leased_until and left alone.
func (s *Store) LeaseTasks(ctx context.Context, q store.LeaseQuery) ([]store.Task, error) {
	if q.Limit <= 0 || len(q.Tenants) == 0 || !store.Storable(q.Driver) {
		return nil, nil
	}
	args := []any{q.Tenants, store.UnixNanos(q.Now), q.Limit, store.UnixNanos(q.Now.Add(q.Lease))}
	driver := ""
	if q.Driver != "" {
		driver = ` AND driver = $5`
		args = append(args, q.Driver)
	}
	rows, err := s.pool.Query(ctx, `WITH next AS (
			SELECT pos FROM tasks WHERE tenant_id = ANY($1) AND leased_until <= $2`+driver+`
			ORDER BY pos LIMIT $3 FOR UPDATE SKIP LOCKED)
		UPDATE tasks t SET leased_until = $4, deliveries = t.deliveries + 1
		FROM next WHERE t.pos = next.pos
		RETURNING t.id, t.tenant_id, t.sequence, t.kind, t.driver, t.created_at, t.payload, t.leased_until, t.deliveries, t.pos`, args...)
	if err != nil {
		return nil, fmt.Errorf("postgres: lease: %w", err)
	}
	type posTask struct {
		pos int64
		t   store.Task
	}
	got, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (posTask, error) {
		var pt posTask
		var err error
		pt.t, err = scanTask(r, &pt.pos)
		return pt, err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: lease: %w", err)
	}
	// RETURNING has no defined order.
	slices.SortFunc(got, func(a, b posTask) int { return int(a.pos - b.pos) })
	out := make([]store.Task, len(got))
	for i := range got {
		out[i] = got[i].t
	}
	return out, nil
}

// ListTasks implements store.Store.
func (s *Store) ListTasks(ctx context.Context, q store.TaskQuery) ([]store.Task, bool, error) {
	if q.Limit <= 0 || len(q.Tenants) == 0 || !store.Storable(q.Driver) {
		return nil, false, nil
	}
	args := []any{q.Tenants, q.Limit + 1, q.Offset}
	where := ""
	if q.Driver != "" {
		args = append(args, q.Driver)
		where += ` AND driver = $` + fmt.Sprint(len(args))
	}
	if q.After != 0 {
		args = append(args, q.After)
		where += ` AND pos > $` + fmt.Sprint(len(args))
	}
	rows, err := s.pool.Query(ctx, `SELECT `+taskCols+`, pos FROM tasks WHERE tenant_id = ANY($1)`+where+` ORDER BY pos LIMIT $2 OFFSET $3`, args...)
	if err != nil {
		return nil, false, fmt.Errorf("postgres: list tasks: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Task, error) {
		var pos int64
		t, err := scanTask(r, &pos)
		t.Pos = pos
		return t, err
	})
	if err != nil {
		return nil, false, fmt.Errorf("postgres: list tasks: %w", err)
	}
	if len(out) > q.Limit {
		return out[:q.Limit], true, nil
	}
	return out, false, nil
}

// FindTask implements store.Store.
func (s *Store) FindTask(ctx context.Context, tenants []uuid.UUID, id uuid.UUID) (store.Task, error) {
	t, err := scanTask(s.pool.QueryRow(ctx, `SELECT `+taskCols+` FROM tasks WHERE id = $1 AND tenant_id = ANY($2)`, id, tenants))
	if errors.Is(err, pgx.ErrNoRows) {
		return t, &store.TaskError{ID: id, Err: store.ErrNotFound}
	}
	if err != nil {
		return t, fmt.Errorf("postgres: find task: %w", err)
	}
	return t, nil
}

// DeleteTask implements store.Store.
func (s *Store) DeleteTask(ctx context.Context, tenants []uuid.UUID, id uuid.UUID) (store.Task, error) {
	t, err := scanTask(s.pool.QueryRow(ctx, `DELETE FROM tasks WHERE id = $1 AND tenant_id = ANY($2) RETURNING `+taskCols, id, tenants))
	if errors.Is(err, pgx.ErrNoRows) {
		return t, &store.TaskError{ID: id, Err: store.ErrNotFound}
	}
	if err != nil {
		return t, fmt.Errorf("postgres: delete task: %w", err)
	}
	return t, nil
}

// AckTasks implements store.Store, set-based: whatever the size of the
// group, one statement locks the queued tasks, one reads the recorded
// outcomes of the others, and one pipelined batch removes, releases and
// records. The row locks make two replicas acknowledging the same task
// take turns: the second finds it gone and answers from the history.
func (s *Store) AckTasks(ctx context.Context, tenants []uuid.UUID, acks []store.Ack, now time.Time) ([]store.Receipt, error) {
	if err := store.CheckAcks(acks); err != nil {
		return nil, err
	}
	ids := make([]uuid.UUID, len(acks))
	for i, a := range acks {
		ids[i] = a.TaskID
	}
	var plan store.AckPlan
	err := s.write(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id, tenant_id, sequence, kind FROM tasks WHERE id = ANY($1) AND tenant_id = ANY($2) ORDER BY pos FOR UPDATE`, ids, tenants)
		if err != nil {
			return fmt.Errorf("postgres: ack: %w", err)
		}
		queued := map[uuid.UUID]store.Queued{}
		var id uuid.UUID
		var q store.Queued
		var kind string
		if _, err := pgx.ForEachRow(rows, []any{&id, &q.TenantID, &q.Sequence, &kind}, func() error {
			q.Kind = store.TaskKind(kind)
			queued[id] = q
			return nil
		}); err != nil {
			return fmt.Errorf("postgres: ack: %w", err)
		}
		var gone []uuid.UUID
		for _, id := range ids {
			if _, ok := queued[id]; !ok {
				gone = append(gone, id)
			}
		}
		recorded := map[uuid.UUID]store.Recorded{}
		if len(gone) > 0 {
			rows, err := tx.Query(ctx, `SELECT DISTINCT ON (task_id) task_id, status, acknowledged_at FROM task_history
				WHERE task_id = ANY($1) AND terminal AND tenant_id = ANY($2) ORDER BY task_id, pos`, gone, tenants)
			if err != nil {
				return fmt.Errorf("postgres: ack: %w", err)
			}
			var status string
			var at int64
			if _, err := pgx.ForEachRow(rows, []any{&id, &status, &at}, func() error {
				recorded[id] = store.Recorded{Status: store.AckStatus(status), AcknowledgedAt: store.FromUnixNanos(at)}
				return nil
			}); err != nil {
				return fmt.Errorf("postgres: ack: %w", err)
			}
		}
		if plan, err = store.PlanAcks(acks, queued, recorded, now); err != nil {
			return err
		}
		b := &pgx.Batch{}
		if len(plan.Remove) > 0 {
			b.Queue(`DELETE FROM tasks WHERE id = ANY($1)`, plan.Remove)
		}
		if len(plan.Release) > 0 {
			b.Queue(`UPDATE tasks SET leased_until = 0 WHERE id = ANY($1)`, plan.Release)
		}
		if n := len(plan.History); n > 0 {
			hTask, hTenant, hSeq := make([]uuid.UUID, n), make([]uuid.UUID, n), make([]int64, n)
			// message and app_id are bytea (migration 4): text cannot
			// hold the U+0000 that JSON, and so a message, may carry.
			hKind, hStatus, hMessage, hApp := make([]string, n), make([]string, n), make([][]byte, n), make([][]byte, n)
			hTerminal := make([]bool, n)
			for i, h := range plan.History {
				hTask[i], hTenant[i], hSeq[i], hKind[i] = h.TaskID, h.TenantID, h.Sequence, string(h.Kind)
				hStatus[i], hTerminal[i], hMessage[i], hApp[i] = string(h.Status), h.Status.Terminal(), []byte(h.Message), []byte(h.AppID)
			}
			// unnest keeps the arrays' order, and pos numbers the rows in it.
			b.Queue(`INSERT INTO task_history (tenant_id, task_id, sequence, kind, status, terminal, message, app_id, acknowledged_at)
				SELECT tenant_id, task_id, seq, kind, status, terminal, message, app_id, $1
				FROM unnest($2::uuid[], $3::uuid[], $4::bigint[], $5::text[], $6::text[], $7::boolean[], $8::bytea[], $9::bytea[])
					AS h (tenant_id, task_id, seq, kind, status, terminal, message, app_id)`,
				store.UnixNanos(now), hTenant, hTask, hSeq, hKind, hStatus, hTerminal, hMessage, hApp)
		}
		if b.Len() == 0 {
			return nil
		}
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return fmt.Errorf("postgres: ack: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return plan.Receipts, nil
}

// History implements store.Store.
func (s *Store) History(ctx context.Context, tenant uuid.UUID) ([]store.HistoryEntry, error) {
	rows, err := s.pool.Query(ctx, `SELECT tenant_id, task_id, sequence, kind, status, message, app_id, acknowledged_at
		FROM task_history WHERE tenant_id = $1 ORDER BY pos`, tenant)
	if err != nil {
		return nil, fmt.Errorf("postgres: history: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.HistoryEntry, error) {
		var h store.HistoryEntry
		var kind, status string
		var message, app []byte
		var at int64
		err := r.Scan(&h.TenantID, &h.TaskID, &h.Sequence, &kind, &status, &message, &app, &at)
		h.Kind, h.Status, h.Message, h.AppID, h.AcknowledgedAt = store.TaskKind(kind), store.AckStatus(status), string(message), string(app), store.FromUnixNanos(at)
		return h, err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: history: %w", err)
	}
	return out, nil
}
