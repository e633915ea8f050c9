package reference

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/interop-data/interop/gen/apiserver"
	"github.com/interop-data/interop/pkg/reference/store"
	"github.com/interop-data/interop/pkg/server"
	"github.com/interop-data/interop/pkg/server/auth"
)

// Defaults of the task queue and of list pages.
const (
	DefaultTaskLease = 5 * time.Minute
	DefaultBatchSize = 100
	DefaultPageSize  = 2000
)

// Handler implements apiserver.StrictServerInterface on a store.
type Handler struct {
	st     store.Store
	clock  func() time.Time
	lease  time.Duration
	batch  int
	logger *slog.Logger

	keyMu sync.Mutex
	key   []byte // the store's cursor key, once read
}

var _ apiserver.StrictServerInterface = (*Handler)(nil)

// newHandler is the handler NewServer serves; cfg's defaults are applied.
func newHandler(st store.Store, cfg Config) *Handler {
	h := &Handler{st: st, clock: cfg.Clock, lease: DefaultTaskLease, batch: DefaultBatchSize, logger: cfg.Logger}
	if cfg.TaskLease > 0 {
		h.lease = cfg.TaskLease
	}
	if cfg.BatchSize > 0 {
		h.batch = cfg.BatchSize
	}
	return h
}

func (h *Handler) now() time.Time { return h.clock().UTC() }

// scope is the tenants the caller may act for.
func scope(ctx context.Context) ([]uuid.UUID, error) {
	p, ok := auth.PrincipalFrom(ctx)
	if !ok || len(p.TenantIDs) == 0 {
		// The kit authenticates every secured operation; reaching here
		// without a principal means the handler was mounted without it.
		return nil, server.Errorf(http.StatusUnauthorized, server.CodeUnauthorized, "authentication required")
	}
	return p.TenantIDs, nil
}

// storeError turns the store's errors into the API's; anything else is
// returned as is and becomes a 500 without detail.
func storeError(err error) error {
	var te *store.TaskError
	switch {
	case errors.As(err, &te) && errors.Is(err, store.ErrConflict):
		return server.Errorf(http.StatusConflict, server.CodeConflict, "task %s was already acknowledged as %s", te.ID, te.Status)
	case errors.As(err, &te) && errors.Is(err, store.ErrNotFound):
		return server.Errorf(http.StatusNotFound, server.CodeNotFound, "task %s not found", te.ID)
	case errors.Is(err, store.ErrNotFound):
		return server.Errorf(http.StatusNotFound, server.CodeNotFound, "%v", err)
	case errors.Is(err, store.ErrInvalid):
		return server.Errorf(http.StatusBadRequest, server.CodeInvalidBody, "%v", err)
	}
	return err
}

// pageOf resolves page and page_size; the spec's validation has already
// rejected negative pages and sizes outside 1..2000.
func pageOf(page, size *int32) (offset, limit int) {
	limit = DefaultPageSize
	if size != nil && *size > 0 {
		limit = int(*size)
	}
	p := 0
	if page != nil && *page > 0 {
		p = int(*page)
	}
	return p * limit, limit
}

// nextLink is the absolute URL of the next page: the request's own URL
// with its page number, the page size made explicit, and its cursor.
func nextLink(ctx context.Context, page int32, limit int, cursor string) *string {
	u := server.RequestURL(ctx)
	if u == nil {
		u = &url.URL{}
	}
	q := u.Query()
	q.Set("page", strconv.Itoa(int(page)))
	q.Set("page_size", strconv.Itoa(limit))
	q.Set("cursor", cursor)
	u.RawQuery = q.Encode()
	s := u.String()
	return &s
}

// list reads one page of a list. The page is answered from the stored JSON
// as is (see rawPage).
func (h *Handler) list(ctx context.Context, q store.ObjectQuery, page, size *int32, cursor *string) (rawPage, error) {
	tenants, err := scope(ctx)
	if err != nil {
		return rawPage{}, err
	}
	q.Tenants = tenants
	id := listID(q)
	pos, err := h.positionOf(ctx, id, page, size, cursor)
	if err != nil {
		return rawPage{}, err
	}
	q.After, q.Offset, q.Limit = pos.after, pos.offset, pos.limit
	objs, more, err := h.st.ListObjects(ctx, q)
	if err != nil {
		return rawPage{}, storeError(err)
	}
	p := rawPage{objs: objs}
	if more {
		if p.next, err = h.next(ctx, id, pos, objs[len(objs)-1].Pos); err != nil {
			return rawPage{}, err
		}
	}
	return p, nil
}

// listForOrg is list under an org that must exist: an unknown org is 404,
// not an empty list.
func (h *Handler) listForOrg(ctx context.Context, org uuid.UUID, q store.ObjectQuery, page, size *int32, cursor *string) (rawPage, error) {
	tenants, err := scope(ctx)
	if err != nil {
		return rawPage{}, err
	}
	if _, err := h.st.FindObject(ctx, tenants, store.KindOrg, org); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return rawPage{}, server.Errorf(http.StatusNotFound, server.CodeNotFound, "org %s not found", org)
		}
		return rawPage{}, storeError(err)
	}
	q.Org = &org
	return h.list(ctx, q, page, size, cursor)
}

// find reads one object; subtype, when not empty, must match (findLEA of a
// school is 404).
func (h *Handler) find(ctx context.Context, kind store.Kind, subtype string, id uuid.UUID, name string) (rawFound, error) {
	tenants, err := scope(ctx)
	if err != nil {
		return rawFound{}, err
	}
	o, err := h.st.FindObject(ctx, tenants, kind, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && subtype != "" && o.Subtype != subtype) {
		return rawFound{}, server.Errorf(http.StatusNotFound, server.CodeNotFound, "%s %s not found", name, id)
	}
	if err != nil {
		return rawFound{}, storeError(err)
	}
	return rawFound{data: o.Data}, nil
}
