package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// A changed export's updates, written aside before the sync commits.
//
// The last transaction of a sync written in slices (slices.go) used to
// update every changed object in place: readers must see the changes at
// once, with the sync's events. A 5% change of a 100,000-user district is
// 38,250 objects on as many pages of the objects table, and that one
// transaction held the write lock for 0.9-1.04 s, another tenant's requests
// waiting that long (docs/PERFORMANCE.md). So a sync that writes slices
// also writes, in slices, the new label and data of each object whose kind
// and subtype are unchanged (stateRelabeled: most changes) into the
// object's next_label and next_data, marked with next_ver, the roster
// version the sync's commit will set. Readers take the next values of an
// object whose next_ver the tenant's roster_version has reached (readLabel,
// readData), in the snapshot they read; the commit's version bump is what
// makes all of them visible at once. After the commit the values are
// folded into label and data, a few hundred objects per write transaction;
// a sync of the tenant folds what is left first (a process that died right
// after its commit).
//
// A sync that fails takes its values back before the version moves on
// (dropHidden), and so does the sweep of a dead sync's claim. Only a sync's
// final lock writes aside: a Put or Remove later in the same sync would
// otherwise read and write the objects' old values.

// stateWrittenAside is a relabeled object whose new values a slice wrote
// aside (next_label, next_data).
const stateWrittenAside = 6

// foldRows is how many objects one fold transaction updates.
const foldRows = 500

// readLabel and readData read an objects row (the table's own name in the
// query) as readers see it: its next values once their version is
// committed.
const (
	readLabel = `CASE WHEN objects.next_ver IS NOT NULL AND objects.next_ver <= (SELECT roster_version FROM tenants WHERE id = objects.tenant_id) THEN objects.next_label ELSE objects.label END`
	readData  = `CASE WHEN objects.next_ver IS NOT NULL AND objects.next_ver <= (SELECT roster_version FROM tenants WHERE id = objects.tenant_id) THEN objects.next_data ELSE objects.data END`
)

// writeAside writes the relabeled objects' new values aside, in slices,
// for the version the sync's commit sets (x.version + 1).
func (x *syncTx) writeAside(ctx context.Context) error {
	tenant := x.tenant.String()
	return x.slicesOf(ctx, stateRelabeled, x.s.asideSlice(), func(tx *sql.Tx, lo, hi int64) error {
		if _, err := tx.ExecContext(ctx, `UPDATE main.objects SET next_label = s.label, next_data = s.data, next_ver = ?4
			FROM temp.diff d JOIN temp.stage s ON s.ord = d.ord
			WHERE d.state = 5 AND d.ord > ?2 AND d.ord <= ?3 AND objects.seq = d.seq AND objects.tenant_id = ?1`, tenant, lo, hi, x.version+1); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE OR FAIL temp.diff SET state = ?3 WHERE state = 5 AND ord > ?1 AND ord <= ?2`, lo, hi, stateWrittenAside)
		return err
	})
}

// foldPending folds the committed next values of tenant's objects into
// their label and data, foldRows per write transaction begun by begin.
func (s *Store) foldPending(ctx context.Context, begin func(context.Context) (*sql.Tx, error), tenant uuid.UUID) error {
	for {
		var n int64
		start := time.Now()
		err := inTx(ctx, begin, func(tx *sql.Tx) error {
			r, err := tx.ExecContext(ctx, `UPDATE objects SET label = next_label, data = next_data, next_label = NULL, next_data = NULL, next_ver = NULL
				WHERE seq IN (SELECT seq FROM objects WHERE tenant_id = ?1 AND next_ver IS NOT NULL
					AND next_ver <= (SELECT roster_version FROM tenants WHERE id = ?1) LIMIT ?2)`, tenant.String(), foldRows)
			if err == nil {
				n, err = r.RowsAffected()
			}
			return err
		})
		if err != nil {
			return fmt.Errorf("sqlite: fold a sync's changes: %w", err)
		}
		if n < foldRows {
			return nil
		}
		if err := s.pause(ctx, time.Since(start)); err != nil {
			return err
		}
	}
}

// hasPending reports whether tenant has objects with next values.
func hasPending(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, tenant uuid.UUID) (bool, error) {
	var any bool
	err := q.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM objects WHERE tenant_id = ? AND next_ver IS NOT NULL)`, tenant.String()).Scan(&any)
	return any, err
}

// clearPending takes back up to limit (all if negative) of the next values
// of tenant's objects that no commit made visible, and returns how many.
func clearPending(ctx context.Context, tx *sql.Tx, tenant uuid.UUID, limit int) (int64, error) {
	r, err := tx.ExecContext(ctx, `UPDATE objects SET next_label = NULL, next_data = NULL, next_ver = NULL
		WHERE seq IN (SELECT seq FROM objects WHERE tenant_id = ?1 AND next_ver IS NOT NULL
			AND next_ver > (SELECT roster_version FROM tenants WHERE id = ?1) LIMIT ?2)`, tenant.String(), limit)
	if err != nil {
		return 0, err
	}
	return r.RowsAffected()
}
