package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/interop-data/interop/pkg/server/auth"
)

// TokenRetention is how long past its expiry a stored token is kept. A store
// drops, when it saves a token, the tokens that expired this long before the
// new one expires: no clock is needed, and as long as token lifetimes are
// shorter than this, only tokens that have certainly expired are dropped.
const TokenRetention = 24 * time.Hour

// FindClient implements auth.ClientStore for a store whose tenants are its
// OAuth2 clients (one client per tenant): every Store can answer with it.
func FindClient(ctx context.Context, st interface {
	FindTenantByClientID(context.Context, string) (Tenant, error)
}, clientID string) (auth.Client, error) {
	t, err := st.FindTenantByClientID(ctx, clientID)
	if errors.Is(err, ErrNotFound) {
		return auth.Client{}, fmt.Errorf("client %q: %w", clientID, auth.ErrUnknownClient)
	}
	if err != nil {
		return auth.Client{}, err
	}
	return auth.Client{ID: t.ClientID, TenantID: t.ID, SecretHash: t.SecretHash}, nil
}

// principalJSON is how a token's principal is kept: the same in every store,
// so that a database can move between binaries without reissuing tokens.
type principalJSON struct {
	TenantIDs []uuid.UUID `json:"tenant_ids"`
	ClientID  string      `json:"client_id"`
	Subject   string      `json:"subject"`
	Method    string      `json:"method"`
}

// EncodePrincipal is the stored form of a token's principal.
func EncodePrincipal(p auth.Principal) ([]byte, error) {
	return json.Marshal(principalJSON{p.TenantIDs, p.ClientID, p.Subject, p.Method})
}

// DecodePrincipal reads what EncodePrincipal wrote.
func DecodePrincipal(b []byte) (auth.Principal, error) {
	var pj principalJSON
	if err := json.Unmarshal(b, &pj); err != nil {
		return auth.Principal{}, err
	}
	return auth.Principal{TenantIDs: pj.TenantIDs, ClientID: pj.ClientID, Subject: pj.Subject, Method: pj.Method}, nil
}
