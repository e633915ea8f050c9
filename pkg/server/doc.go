// Package server is the kit for Interop Data API servers. Implement
// apiserver.StrictServerInterface (embed Unimplemented for the operations you do
// not have yet), hand it to New, and serve:
//
//	clients := auth.NewMemoryClientStore(auth.Client{ID: "demo", TenantID: tenant, SecretHash: auth.HashSecret(secret)})
//	srv, err := server.New(myImpl{}, server.WithTokenEndpoint(auth.NewOAuth2(clients, auth.NewMemoryTokenStore())))
//	if err != nil { ... }
//	err = srv.ListenAndServe(ctx, ":8080", nil)
//
// Everything a compatible server must get right beyond its business logic
// comes from here:
//
//   - Routing: the generated handlers under contract.BasePath. Echo's router
//     matches each request once; the kit binds the matching kin-openapi route
//     to each Echo route when it is built, and reuses it for the request and
//     the response.
//
//   - Authentication before anything else: the auth.Authenticator (OAuth2
//     tokens from POST /oauth/token, LTI JWTs, or your own) runs first, and
//     the principal reaches the handler as auth.PrincipalFrom(ctx). A missing,
//     malformed, unknown, wrongly signed or expired token is a 401.
//
//   - Request validation: kin-openapi checks path, query and headers (without
//     writing defaults into the request); the body goes through the
//     contract's compiled one-pass validator (package contract), compiled
//     once per process.
//
//   - Response validation: the handler's response is buffered and checked
//     against the operation's declared responses before it leaves (status
//     and headers by kin-openapi, the body by the compiled validator). In
//     ValidationEnforce mode (the default) an invalid response is replaced by a
//     500; ValidationReport logs and counts it and sends it anyway.
//
//   - One error model: validation failures, authentication failures, unknown
//     routes (404), wrong methods (405), oversized bodies (413), handler
//     errors and recovered panics all answer with the spec's
//     {"error": {"status", "code", "message", "details"?}} body, the matching
//     status and Content-Type: application/json. Handlers return *Error (or
//     a generated typed error response); any other error is a 500 whose body
//     holds only the request id.
//
//   - Plumbing: request ids (X-Request-Id in and out), log/slog access logs,
//     panic recovery, a body limit, http.Server timeouts, graceful shutdown,
//     /healthz, /readyz and Prometheus /metrics on a registry of the
//     server's own.
//
//   - Rate limiting, off by default: WithRateLimit gives each caller a token
//     bucket (golang.org/x/time/rate) of RateLimit.PerSecond requests a
//     second and RateLimit.Burst back to back. API operations count against
//     the authenticated principal's ClientID (after authentication, before
//     validation); POST /oauth/token counts against the client IP. A request
//     that finds its bucket empty takes nothing and answers 429 with the
//     spec's error body (code rate_limited) and Retry-After in whole seconds
//     (at least 1) until a token is back, and is counted in
//     interop_rate_limited_total{operation}. Buckets idle long enough to
//     have refilled are forgotten (interop_rate_limit_keys counts the rest).
//     Limits are per process unless WithSharedRateLimit gives the clients'
//     buckets a home shared by replicas (a database), and time comes from
//     WithClock, so tests
//     advance a fake clock instead of sleeping.
//
//   - The API reference, on by default: /docs renders the embedded spec
//     (package docs, Redoc embedded, works offline), /openapi.yaml and
//     /openapi.json serve it, / redirects to /docs. WithDocs(false) removes
//     them.
//
//   - Tracing, off by default: WithTracerProvider gives every request an
//     OpenTelemetry server span (otelecho) carrying interop.operation and
//     interop.request_id.
//
//   - Limits, each with a default and an option: the body (WithBodyLimit,
//     2 MiB), the JSON nesting depth and element count (WithMaxJSONDepth,
//     64; WithMaxJSONElements, 50,000: one pass over the bytes before any
//     parser sees the body), the request line and headers
//     (WithMaxHeaderBytes), the URL (WithMaxURLLength, 414), open
//     connections (WithMaxConnections: at the limit the connection idle
//     longest is closed for a newcomer) and the http.Server timeouts. A body
//     that stops arriving is a 408 (read timeout) or 400, never a 500.
//     Error messages and details are cut at MaxErrorText.
//
//   - /metrics on the API handler by default; WithMetricsAddr moves it to a
//     listener of its own, WithMetricsEndpoint(false) removes it,
//     WithMetricsMiddleware wraps it in the operator's authentication.
//
// RequestURL gives a handler the absolute URL of its request, from which
// paging.next links are built. Its host is never one a client made up:
// WithPublicURL fixes it, WithAllowedHosts lists the Host values taken as
// sent, and any other Host is replaced by the address the connection
// arrived on. Forwarded headers count only from the proxies
// WithTrustedProxies names.
package server
