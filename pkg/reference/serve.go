package reference

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/interop-data/interop/pkg/reference/lti"
	"github.com/interop-data/interop/pkg/reference/store"
	"github.com/interop-data/interop/pkg/server"
	"github.com/interop-data/interop/pkg/server/auth"
)

// The demo tenant's fixed credentials, printed by `interop serve --demo`.
const (
	DemoClientID     = "demo"
	DemoClientSecret = "demo-secret"
	DemoTenantName   = "Demo District"
)

// DemoTenantID is the demo tenant's id, the same on every database.
var DemoTenantID = demoID("tenant")

// Config configures NewServer.
type Config struct {
	// Store is where the server keeps everything; NewServer takes it over
	// (Instance.Close closes it, and so does a failing NewServer). Open
	// one with package store/open.
	Store      store.Store
	Demo       bool          // ensure the demo tenant and its district
	TaskLease  time.Duration // default DefaultTaskLease
	BatchSize  int           // default DefaultBatchSize
	Clock      func() time.Time
	Logger     *slog.Logger
	TrustProxy bool          // honour X-Forwarded-Proto/-Host in paging links
	TokenTTL   time.Duration // default auth.DefaultTokenTTL
	// TokenCacheTTL is how long the server answers for a bearer token from
	// memory before reading the store again (auth.TokenCache; default
	// auth.DefaultTokenCacheTTL, negative: no cache): the longest a token
	// revoked through another replica stays accepted by this one.
	TokenCacheTTL time.Duration
	// DemoSize overrides DefaultDemo (tests use a smaller district).
	DemoSize *DemoSize
	// ServerOptions are appended to the kit options NewServer sets.
	ServerOptions []server.Option
	// LTI, when set, accepts LTI JWT bearer tokens beside OAuth2 on every
	// operation: an *lti.Issuer (the test issuer over the store's keys,
	// whose JWKS is then served at lti.JWKSPath) or an *auth.LTIJWT
	// trusting an external platform. Every tenant a token names must be in
	// the store.
	LTI auth.Authenticator
}

// jwksSource is what the test issuer adds to an authenticator: the keys to
// publish.
type jwksSource interface {
	JWKS(ctx context.Context) ([]byte, error)
}

// Instance is what NewServer opened besides the server: close it when the
// server is done.
type Instance struct {
	Store   store.Store
	Handler *Handler
	OAuth2  *auth.OAuth2
	// Demo holds the demo tenant's credentials when Config.Demo was set.
	Demo *TenantCredentials
}

// Close closes the store.
func (i *Instance) Close() error { return i.Store.Close() }

// NewServer serves cfg.Store: it optionally ensures the demo tenant, and
// returns the kit server with every operation, OAuth2 client credentials
// over the store at /oauth/token, and readiness tied to the store.
func NewServer(ctx context.Context, cfg Config) (*server.Server, *Instance, error) {
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	st := cfg.Store
	if st == nil {
		return nil, nil, errors.New("reference: Config.Store is nil")
	}
	h := newHandler(st, cfg)
	var tokens auth.TokenStore = st
	if cfg.TokenCacheTTL >= 0 {
		tokens = auth.NewTokenCache(st, auth.WithCacheTTL(cfg.TokenCacheTTL), auth.WithCacheClock(cfg.Clock))
	}
	oauth := auth.NewOAuth2(st, tokens, auth.WithClock(cfg.Clock), auth.WithTokenTTL(cfg.TokenTTL), auth.WithLogger(cfg.Logger))
	inst := &Instance{Store: st, Handler: h, OAuth2: oauth}
	if cfg.Demo {
		size := DefaultDemo
		if cfg.DemoSize != nil {
			size = *cfg.DemoSize
		}
		creds, err := EnsureDemo(ctx, st, size, cfg.Clock())
		if err != nil {
			st.Close()
			return nil, nil, err
		}
		inst.Demo = &creds
	}
	opts := []server.Option{
		server.WithTokenEndpoint(oauth),
		server.WithLogger(cfg.Logger),
		server.WithReadiness(st.Ping),
		server.WithTrustProxyHeaders(cfg.TrustProxy),
		server.WithClock(cfg.Clock), // the kit's rate limiter runs on the same clock as leases and tokens
	}
	// A store every replica shares keeps the clients' rate-limit buckets
	// (the PostgreSQL store does), so a client's limit holds across them.
	if sl, ok := st.(server.SharedLimiter); ok {
		opts = append(opts, server.WithSharedRateLimit(sl))
	}
	if cfg.LTI != nil {
		// OAuth2 first: its tokens are opaque and found by hash, so an LTI
		// JWT costs it one lookup, while a signature check is the dearer one.
		opts = append(opts, server.WithAuthenticator(auth.Chain(oauth, &ltiTenants{next: cfg.LTI, st: st})))
	}
	srv, err := server.New(h, append(opts, cfg.ServerOptions...)...)
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	if src, ok := cfg.LTI.(jwksSource); ok {
		srv.Echo().GET(lti.JWKSPath, func(c echo.Context) error {
			b, err := src.JWKS(c.Request().Context())
			if err != nil {
				return err
			}
			c.Response().Header().Set("Cache-Control", "max-age=60")
			return c.JSONBlob(http.StatusOK, b)
		})
	}
	return srv, inst, nil
}

// TenantCredentials are what an integrator needs to use a new tenant.
type TenantCredentials struct {
	TenantID     uuid.UUID `json:"tenant_id"`
	ClientID     string    `json:"client_id"`
	ClientSecret string    `json:"client_secret"`
}

// CreateTenant installs a tenant at now (its created_at and its
// TENANT_INSTALLED task's): it stores the tenant with a new client id and a
// hashed new secret and enqueues TENANT_INSTALLED, atomically. The secret is
// only ever returned here.
func CreateTenant(ctx context.Context, st store.Store, name string, now time.Time) (TenantCredentials, error) {
	return InstallTenant(ctx, st, name, now, TenantCredentials{})
}

// InstallTenant is CreateTenant with credentials chosen by the caller (the
// demo tenant, test fixtures): each zero field of creds is generated as
// CreateTenant generates it. Like every other setting of this package, it
// is a value, not an option.
func InstallTenant(ctx context.Context, st store.Store, name string, now time.Time, creds TenantCredentials) (TenantCredentials, error) {
	if creds.TenantID == uuid.Nil {
		creds.TenantID = uuid.New()
	}
	if creds.ClientID == "" {
		creds.ClientID = "client-" + uuid.NewString()
	}
	if creds.ClientSecret == "" {
		creds.ClientSecret = auth.NewSecret()
	}
	t := store.Tenant{ID: creds.TenantID, Name: name, ClientID: creds.ClientID, SecretHash: auth.HashSecret(creds.ClientSecret)}
	if _, err := st.CreateTenant(ctx, t, []store.NewTask{LifecycleTask(ActionTenantInstalled, "")}, now.UTC()); err != nil {
		return TenantCredentials{}, err
	}
	return creds, nil
}

// EnsureDemo creates the demo tenant when absent and loads the demo district
// into it when it holds no org yet, so that a run interrupted between the
// two steps completes on the next start.
func EnsureDemo(ctx context.Context, st store.Store, size DemoSize, now time.Time) (TenantCredentials, error) {
	creds := TenantCredentials{TenantID: DemoTenantID, ClientID: DemoClientID, ClientSecret: DemoClientSecret}
	t, err := st.FindTenantByClientID(ctx, DemoClientID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		if _, err := InstallTenant(ctx, st, DemoTenantName, now, creds); err != nil && !errors.Is(err, store.ErrConflict) {
			return creds, fmt.Errorf("demo tenant: %w", err)
		}
	case err != nil:
		return creds, fmt.Errorf("demo tenant: %w", err)
	default:
		if !auth.VerifySecret(t.SecretHash, DemoClientSecret) {
			return creds, fmt.Errorf("demo tenant: client %q exists with another secret", DemoClientID)
		}
		creds.TenantID = t.ID
	}
	orgs, _, err := st.ListObjects(ctx, store.ObjectQuery{Tenants: []uuid.UUID{creds.TenantID}, Kind: store.KindOrg, Limit: 1})
	if err != nil {
		return creds, fmt.Errorf("demo data: %w", err)
	}
	if len(orgs) == 0 {
		if _, err := Load(ctx, st, creds.TenantID, Demo(size), now); err != nil {
			return creds, fmt.Errorf("demo data: %w", err)
		}
	}
	return creds, nil
}
