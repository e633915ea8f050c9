package postgres

// StagedRows returns how many rows tx, a sync of a Store, staged since its
// last Apply.
func StagedRows(tx any) int64 { return tx.(*syncTx).rows }
