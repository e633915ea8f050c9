package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/interop-data/interop/pkg/contract"
	"github.com/interop-data/interop/pkg/reference"
	"github.com/interop-data/interop/pkg/reference/store"
	"github.com/interop-data/interop/pkg/reference/store/open"
	"github.com/interop-data/interop/pkg/server"
	"github.com/interop-data/interop/pkg/server/auth"
)

func init() {
	commands["serve"] = command{summary: "run the reference server on SQLite (embedded) or PostgreSQL", run: runServe}
}

// runServe serves until ctx ends (SIGINT/SIGTERM), then shuts down
// gracefully. It prints where it listens and, with --demo, the demo
// tenant's credentials.
func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	defAddr := "127.0.0.1:8080"
	if a := os.Getenv("ADDR"); a != "" {
		defAddr = a
	}
	addr := fs.String("addr", defAddr, "address to listen on; $ADDR, when set, replaces the default")
	db := fs.String("db", "./interop.db", "the database: a SQLite file (created when absent) or a postgres:// URL")
	demo := fs.Bool("demo", false, "create the demo tenant (client demo / demo-secret) and its district when absent")
	lease := durationFlag(fs, "task-lease", reference.DefaultTaskLease, "how long GET /tasks hides the tasks it returns")
	batch := fs.Int("batch-size", reference.DefaultBatchSize, "most tasks one GET /tasks returns")
	trust := fs.Bool("trust-proxy", false, "believe X-Forwarded-For/-Proto/-Host from the proxies --trusted-proxies names (required with it)")
	trustedProxies := fs.String("trusted-proxies", "", "comma-separated addresses or CIDR prefixes of the proxies in front (e.g. 10.0.0.0/8); turns --trust-proxy on: their X-Forwarded-For names the client, X-Forwarded-Proto the scheme, and X-Forwarded-Host the link host when --allowed-hosts lists it")
	verbose := fs.Bool("v", false, "log at debug level (the same as --log-level debug)")
	logLevel := fs.String("log-level", "info", "least level logged: debug, info, warn or error")
	accessLevel := fs.String("access-log-level", "info", "level of the line logged per request (debug hides them at the default --log-level; server failures are logged as errors whatever this says): debug, info, warn or error")
	respValidation := fs.String("response-validation", "enforce", "what to do with a response that breaks the spec: enforce (send a 500 instead), report (log and send) or off")
	rateLimit := fs.Float64("rate-limit", 0, "requests per second allowed to each client (API calls by client id, /oauth/token by IP); 0 = no limit")
	rateBurst := fs.Int("rate-burst", 0, "requests a client may make back to back with --rate-limit; 0 = the rate rounded up")
	publicURL := fs.String("public-url", "", "base URL clients reach the server at (e.g. https://api.example.org); paging links are built on it, never on the request's Host")
	allowedHosts := fs.String("allowed-hosts", "", "comma-separated Host values paging links may use as sent (others get the listen address)")
	metricsAddr := fs.String("metrics-addr", "", "serve /metrics on this address instead of the API listener, or 'off' for nowhere (default: on the API listener)")
	bodyLimit := fs.Int64("body-limit", server.DefaultBodyLimit, "largest request body in bytes (larger: 413)")
	maxDepth := fs.Int("max-json-depth", server.DefaultMaxJSONDepth, "deepest nesting of a JSON request body (deeper: 400)")
	maxElements := fs.Int("max-json-elements", server.DefaultMaxJSONElements, "most elements (values and keys) of a JSON request body (more: 400)")
	maxHeader := fs.Int("max-header-bytes", server.DefaultMaxHeaderBytes, "most bytes of request line and headers (more: 431, from net/http)")
	maxURL := fs.Int("max-url-length", server.DefaultMaxURLLength, "longest request URL in bytes (longer: 414)")
	maxConns := fs.Int("max-conns", server.DefaultMaxConnections, "most connections held open at once; -1 = no limit")
	tokenCache := durationFlag(fs, "token-cache-ttl", auth.DefaultTokenCacheTTL, "how long a bearer token is accepted from memory before the database is asked again: the longest a token revoked through another replica stays accepted here; 0 = no cache")
	ltiOpts := addLTIFlags(fs)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: interop serve [--addr HOST:PORT] [--db PATH|postgres://URL] [--demo] [--task-lease 5m] [--batch-size 100] [--trusted-proxies CIDR,...] [--public-url URL] [--allowed-hosts H,...] [--metrics-addr HOST:PORT|off] [--response-validation enforce|report|off] [--log-level L] [--access-log-level L] [-v] [--token-cache-ttl 5s] [--rate-limit N [--rate-burst N]] [limits: --body-limit --max-json-depth --max-json-elements --max-header-bytes --max-url-length --max-conns] [LTI: --lti-test-issuer=false | --lti-issuer ISS --lti-audience AUD --lti-jwks-url URL|--lti-jwks-file FILE]")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if *lease <= 0 {
		fmt.Fprintf(stderr, "interop serve: --task-lease must be positive, not %s\n", *lease)
		return exitError(2)
	}
	if *tokenCache < 0 {
		fmt.Fprintf(stderr, "interop serve: --token-cache-ttl must not be negative, not %s\n", *tokenCache)
		return exitError(2)
	}
	if *batch <= 0 {
		fmt.Fprintf(stderr, "interop serve: --batch-size must be positive, not %d\n", *batch)
		return exitError(2)
	}
	// !(x >= 0) also refuses NaN.
	if !(*rateLimit >= 0) || math.IsInf(*rateLimit, 0) || *rateBurst < 0 {
		fmt.Fprintln(stderr, "interop serve: --rate-limit and --rate-burst must not be negative")
		return exitError(2)
	}
	if *bodyLimit <= 0 || *maxDepth <= 0 || *maxElements <= 0 || *maxHeader <= 0 || *maxURL <= 0 || *maxConns == 0 || *maxConns < -1 {
		fmt.Fprintln(stderr, "interop serve: --body-limit, --max-json-depth, --max-json-elements, --max-header-bytes, --max-url-length and --max-conns must be positive (--max-conns -1: no limit)")
		return exitError(2)
	}
	limits := []server.Option{
		server.WithBodyLimit(*bodyLimit), server.WithMaxJSONDepth(*maxDepth), server.WithMaxJSONElements(*maxElements), server.WithMaxHeaderBytes(*maxHeader),
		server.WithMaxURLLength(*maxURL), server.WithMaxConnections(*maxConns),
	}
	if *publicURL != "" {
		limits = append(limits, server.WithPublicURL(*publicURL))
	}
	if *trust && *trustedProxies == "" {
		fmt.Fprintln(stderr, "interop serve: --trust-proxy needs --trusted-proxies CIDR,...: trusting every peer lets any client choose its address and link host")
		return exitError(2)
	}
	if *trustedProxies != "" {
		*trust = true
		limits = append(limits, server.WithTrustedProxies(strings.Split(*trustedProxies, ",")...))
	}
	if *allowedHosts != "" {
		limits = append(limits, server.WithAllowedHosts(strings.Split(*allowedHosts, ",")...))
	}
	switch *metricsAddr {
	case "":
	case "off":
		limits = append(limits, server.WithMetricsEndpoint(false))
	default:
		limits = append(limits, server.WithMetricsAddr(*metricsAddr))
	}
	mode, err := contract.ParseMode(*respValidation)
	if err != nil {
		fmt.Fprintf(stderr, "interop serve: --response-validation: %v\n", err)
		return exitError(2)
	}
	var level, access slog.Level
	for _, f := range []struct {
		name, value string
		level       *slog.Level
	}{{"--log-level", *logLevel, &level}, {"--access-log-level", *accessLevel, &access}} {
		if err := f.level.UnmarshalText([]byte(f.value)); err != nil {
			fmt.Fprintf(stderr, "interop serve: %s %q: want debug, info, warn or error\n", f.name, f.value)
			return exitError(2)
		}
	}
	if *verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	// Listen first: an address in use must not leave a new database file
	// behind.
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *addr, err)
	}
	defer ln.Close()
	st, err := open.Store(ctx, *db)
	if err != nil {
		return err
	}
	ltiMode, err := ltiOpts.build(ctx, st)
	if err != nil {
		st.Close()
		var ue usageError
		if errors.As(err, &ue) {
			fmt.Fprintf(stderr, "interop serve: %v\n", err)
			return exitError(2)
		}
		return err
	}
	demoBefore := *demo && demoLoaded(ctx, st)
	tenants := -1 // unknown
	if tc, ok := st.(store.TenantCounter); ok && !*demo {
		if n, err := tc.CountTenants(ctx); err == nil {
			tenants = n
		}
	}
	srv, inst, err := reference.NewServer(ctx, reference.Config{
		LTI:   ltiMode.authn,
		Store: st, Demo: *demo, TaskLease: *lease, BatchSize: *batch, Logger: logger, TrustProxy: *trust,
		TokenCacheTTL: cacheTTL(*tokenCache),
		ServerOptions: append(limits,
			server.WithResponseValidation(mode),
			server.WithAccessLogLevel(access),
			server.WithRateLimit(server.RateLimit{PerSecond: *rateLimit, Burst: *rateBurst}),
		),
	})
	if err != nil {
		var ce *server.ConfigError
		if errors.As(err, &ce) {
			fmt.Fprintf(stderr, "interop serve: %v\n", err)
			return exitError(2)
		}
		return err
	}
	defer inst.Close()
	return srv.Serve(ctx, ln, func(a net.Addr) {
		// The start-up block is written in one piece: a reader that waits
		// for its first lines (a script, a test) then has all of them.
		var out strings.Builder
		defer func() { _, _ = io.WriteString(stdout, out.String()) }()
		fmt.Fprintf(&out, "interop: serving %s on %s\n", redactDSN(*db), a)
		fmt.Fprintf(&out, "  base URL:  http://%s%s\n", a, contract.BasePath)
		fmt.Fprintf(&out, "  token URL: http://%s/oauth/token\n", a)
		fmt.Fprintf(&out, "  API reference: http://%s/docs\n", a)
		if *publicURL != "" {
			fmt.Fprintf(&out, "  public URL: %s%s (paging links are built on it)\n", strings.TrimSuffix(*publicURL, "/"), contract.BasePath)
		}
		ltiTenant := ""
		if inst.Demo != nil {
			ltiTenant = inst.Demo.ClientID
		}
		ltiMode.print(&out, "http://"+a.String(), redactDSN(*db), ltiTenant)
		if d := inst.Demo; d != nil {
			fmt.Fprintf(&out, "  demo tenant %s: client_id=%s client_secret=%s\n", d.TenantID, d.ClientID, d.ClientSecret)
			if demoBefore {
				fmt.Fprintf(&out, "  the demo tenant was already there: left as earlier runs left it (acknowledged tasks stay gone);\n"+
					"  to start the demo over, stop the server and run: interop tenant reset --db %s --tenant %s --yes\n", shellQuote(redactDSN(*db)), d.ClientID)
			}
		} else if tenants == 0 {
			fmt.Fprintf(&out, "  this database holds no tenant, so every request will be refused (401): create one with\n"+
				"  interop tenant create --db %s --name NAME, or serve with --demo\n", shellQuote(redactDSN(*db)))
		}
	})
}

// cacheTTL maps --token-cache-ttl to Config.TokenCacheTTL, where 0 means
// the default and a negative duration no cache.
func cacheTTL(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}

// redactDSN hides the password of a database URL, which has no business in
// a terminal or a log.
func redactDSN(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		return u.Redacted()
	}
	return dsn
}

// demoLoaded reports whether the demo tenant exists and holds its district:
// serve --demo then leaves it alone.
func demoLoaded(ctx context.Context, st store.Store) bool {
	t, err := st.FindTenantByClientID(ctx, reference.DemoClientID)
	if err != nil {
		return false
	}
	orgs, _, err := st.ListObjects(ctx, store.ObjectQuery{Tenants: []uuid.UUID{t.ID}, Kind: store.KindOrg, Limit: 1})
	return err == nil && len(orgs) > 0
}

// shellQuote quotes s for a POSIX shell when it holds anything but plain
// characters, so that a printed command can be pasted: the & of a
// PostgreSQL URL's parameters would otherwise end it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./:@%+=,-") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
