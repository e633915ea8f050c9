package sqlite

import "context"

// StagedRows returns how many objects tx, a sync of a Store, holds in its
// staging table.
func StagedRows(ctx context.Context, tx any) (int64, error) {
	var n int64
	err := tx.(*syncTx).querier().QueryRowContext(ctx, `SELECT count(*) FROM temp.stage`).Scan(&n)
	return n, err
}
