package reference

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/google/uuid"

	"github.com/interop-data/interop/pkg/reference/store"
	"github.com/interop-data/interop/pkg/server/auth"
)

// ltiTenants wraps the LTI authenticator of Config.LTI so that an LTI caller
// is held to what an OAuth2 caller is:
//   - every tenant its token names must be one of the store's (a platform
//     naming another gets 401, as an unknown OAuth2 client does);
//   - its rate-limit key (the kit counts by Principal.ClientID) is its
//     tenant's OAuth2 client id when the token names one tenant, so both
//     kinds of credential of a tenant draw on one bucket; a token naming
//     several tenants has a bucket of its own, "lti:" and the sorted ids.
type ltiTenants struct {
	next auth.Authenticator
	st   store.Store

	clients sync.Map // uuid.UUID → client id; tenants are never deleted
}

func (l *ltiTenants) Authenticate(r *http.Request) (auth.Principal, error) {
	p, err := l.next.Authenticate(r)
	if err != nil {
		return p, err
	}
	if p.Method == "" {
		p.Method = auth.MethodLTIJWT
	}
	ids := make([]string, 0, len(p.TenantIDs))
	for _, id := range p.TenantIDs {
		cid, err := l.clientOf(r, id)
		if err != nil {
			return auth.Principal{}, err
		}
		if len(p.TenantIDs) == 1 {
			p.ClientID = cid
		}
		ids = append(ids, id.String())
	}
	if len(ids) > 1 {
		slices.Sort(ids)
		p.ClientID = "lti:" + strings.Join(slices.Compact(ids), ",")
	}
	return p, nil
}

func (l *ltiTenants) clientOf(r *http.Request, id uuid.UUID) (string, error) {
	if c, ok := l.clients.Load(id); ok {
		return c.(string), nil
	}
	t, err := l.st.FindTenant(r.Context(), id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return "", fmt.Errorf("%w: the token names tenant %s, which this server does not have", auth.ErrInvalidToken, id)
	case err != nil:
		return "", fmt.Errorf("%w: %v", auth.ErrUnavailable, err)
	}
	l.clients.Store(id, t.ClientID)
	return t.ClientID, nil
}
