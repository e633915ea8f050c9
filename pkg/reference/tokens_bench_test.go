package reference_test

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/google/uuid"

	"github.com/interop-data/interop/internal/cputime"
	"github.com/interop-data/interop/pkg/reference"
	"github.com/interop-data/interop/pkg/server/auth"
)

// BenchmarkAuthenticate is what checking one request's bearer token costs
// the reference server on SQLite: a store read each time (cache=off, as
// before auth.TokenCache) or, within the cache's TTL, none (cache=on).
func BenchmarkAuthenticate(b *testing.B) {
	ctx := context.Background()
	st, err := reference.OpenStore(ctx, filepath.Join(b.TempDir(), "auth.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	for _, bc := range []struct {
		name   string
		tokens auth.TokenStore
	}{{"cache=off", st}, {"cache=on", auth.NewTokenCache(st)}} {
		b.Run(bc.name, func(b *testing.B) {
			o := auth.NewOAuth2(st, bc.tokens)
			token, _, err := o.IssueToken(ctx, auth.Client{ID: "c", TenantID: uuid.New()})
			if err != nil {
				b.Fatal(err)
			}
			r := httptest.NewRequest("GET", "/", nil)
			r.Header.Set("Authorization", "Bearer "+token)
			b.ReportAllocs()
			defer cputime.Measure(b)()
			for b.Loop() {
				if _, err := o.Authenticate(r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
