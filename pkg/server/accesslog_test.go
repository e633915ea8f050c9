package server_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/interop-data/interop/internal/syncbuf"
	"github.com/interop-data/interop/pkg/server"
	"github.com/interop-data/interop/pkg/server/auth"
)

// The per-request line is logged at the chosen level; server failures stay
// errors whatever it is.
func TestAccessLogLevel(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		opts      []server.Option
		wantLevel string // of the 404's line; "" when not logged
	}{
		"default":     {nil, "INFO"},
		"debug":       {[]server.Option{server.WithAccessLogLevel(slog.LevelDebug)}, ""},
		"warn":        {[]server.Option{server.WithAccessLogLevel(slog.LevelWarn)}, "WARN"},
		"explicit ok": {[]server.Option{server.WithAccessLogLevel(slog.LevelInfo)}, "INFO"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var logs syncbuf.Buffer
			logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
			opts := append([]server.Option{server.WithLogger(logger),
				server.WithTokenEndpoint(auth.NewOAuth2(auth.NewMemoryClientStore(), auth.NewMemoryTokenStore())),
				server.WithReadiness(func(_ context.Context) error { return errors.New("store down") })}, tc.opts...)
			srv, err := server.New(server.Unimplemented{}, opts...)
			if err != nil {
				t.Fatal(err)
			}
			h := srv.Handler()
			h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/nowhere", nil))
			line := requestLine(logs.String(), "/nowhere")
			if (line == "") != (tc.wantLevel == "") || (line != "" && !strings.Contains(line, "level="+tc.wantLevel)) {
				t.Errorf("the 404's line: %q, want level %q", line, tc.wantLevel)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
			if line := requestLine(logs.String(), "/readyz"); rec.Code != http.StatusServiceUnavailable || !strings.Contains(line, "level=ERROR") {
				t.Errorf("/readyz with the store down: %d logged as %q, want a 503 logged as an error", rec.Code, line)
			}
		})
	}
}

// requestLine is the access log line of path in logs ("" when none).
func requestLine(logs, path string) string {
	for _, l := range strings.Split(logs, "\n") {
		if strings.Contains(l, "msg=request") && strings.Contains(l, "path="+path+" ") {
			return l
		}
	}
	return ""
}
