package oneroster

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/interop-data/interop/pkg/reference/store"
)

// applySync runs fill inside one sync of tenant.
//
// Until the store offers a streaming sync, the objects are collected and
// handed to store.Store.ApplySync in one piece: fine for small exports.
func applySync(ctx context.Context, st store.Store, tenant uuid.UUID, now time.Time, fill func(Writer) error) (store.SyncResult, error) {
	w := &collector{st: st, tenant: tenant, seen: map[uuid.UUID]bool{}}
	if err := fill(w); err != nil {
		return store.SyncResult{}, err
	}
	return st.ApplySync(ctx, tenant, store.Sync{Upserts: w.upserts, Deletes: w.deletes}, now)
}

type collector struct {
	st      store.Store
	tenant  uuid.UUID
	upserts []store.Object
	deletes []uuid.UUID
	seen    map[uuid.UUID]bool
}

func (c *collector) Upsert(_ context.Context, o store.Object) error {
	c.upserts = append(c.upserts, o)
	c.seen[o.ID] = true
	return nil
}

func (c *collector) Delete(_ context.Context, _ store.Kind, id uuid.UUID) error {
	c.deletes = append(c.deletes, id)
	return nil
}

func (c *collector) DeleteAbsent(ctx context.Context, kind store.Kind, subtype string) error {
	for off := 0; ; off += 1000 {
		objs, more, err := c.st.ListObjects(ctx, store.ObjectQuery{Tenants: []uuid.UUID{c.tenant}, Kind: kind, Subtype: subtype, Offset: off, Limit: 1000})
		if err != nil {
			return err
		}
		for _, o := range objs {
			if !c.seen[o.ID] {
				c.deletes = append(c.deletes, o.ID)
			}
		}
		if !more {
			return nil
		}
	}
}
