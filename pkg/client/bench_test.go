package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/interop-data/interop/gen/models"
	"github.com/interop-data/interop/internal/cputime"
	"github.com/interop-data/interop/pkg/reference"
	"github.com/interop-data/interop/pkg/reference/referencetest"
)

// stubTransport answers every request with the same body, so a benchmark
// measures the client (validation, decoding) and not the network.
type stubTransport struct{ body []byte }

func (s stubTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	return &http.Response{
		StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(bytes.NewReader(s.body)), Request: r,
	}, nil
}

// BenchmarkDecodePersonsPage decodes (and in enforce mode validates) one page
// of 100 or 2000 persons: the per-page cost a roster export pays.
func BenchmarkDecodePersonsPage(b *testing.B) {
	for _, size := range []int{100, 2000} {
		body, err := json.Marshal(personsPage(0, size, nil))
		if err != nil {
			b.Fatal(err)
		}
		for _, mode := range []ValidationMode{ValidationOff, ValidationEnforce} {
			b.Run(fmt.Sprintf("persons=%d/validation=%s", size, mode), func(b *testing.B) {
				benchDecode(b, body, mode, size)
			})
		}
	}
}

func benchDecode(b *testing.B, body []byte, mode ValidationMode, size int) {
	c, err := New("https://api.example.org/v2/interop/data",
		WithHTTPClient(&http.Client{Transport: stubTransport{body}}), WithValidation(mode), WithBearerToken("x"))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	defer cputime.Measure(b)()
	for b.Loop() {
		n := 0
		for _, err := range c.Persons(ctx, &ListOptions{PageSize: size}) {
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n != size {
			b.Fatalf("%d persons", n)
		}
	}
}

// BenchmarkIterate100kPersons walks 100,000 persons of the reference server
// (SQLite store, kit validation both ways on the server) through the
// iterator: the cost of a full roster read, end to end over loopback HTTP.
func BenchmarkIterate100kPersons(b *testing.B) {
	if testing.Short() {
		b.Skip("loads 100,000 persons")
	}
	env := referencetest.Start(b, referencetest.WithTenants(1), referencetest.WithDistrict(reference.DemoSize{Schools: 1, StudentsPerSchool: 1}))
	big := reference.Demo(reference.DemoSize{Schools: 10, StudentsPerSchool: 10000, Seed: 99})
	big.Silent = true
	start := time.Now()
	if _, err := reference.Load(context.Background(), env.Store, env.Tenants[0].ID, big, env.Clock.Now()); err != nil {
		b.Fatal(err)
	}
	b.Logf("loaded %d persons in %v", len(big.Persons), time.Since(start))
	for _, bc := range []struct {
		mode ValidationMode
		size int
	}{{ValidationOff, 2000}, {ValidationEnforce, 2000}, {ValidationOff, 500}} {
		b.Run(fmt.Sprintf("validation=%s/page_size=%d", bc.mode, bc.size), func(b *testing.B) {
			c, err := New(env.URL, WithClientCredentials(env.Tenants[0].ClientID, env.Tenants[0].ClientSecret, env.TokenURL), WithValidation(bc.mode))
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				n := 0
				for _, err := range c.Students(ctx, &ListOptions{PageSize: bc.size}) {
					if err != nil {
						b.Fatal(err)
					}
					n++
				}
				if n < 100000 {
					b.Fatalf("%d students", n)
				}
			}
		})
	}
}

// BenchmarkNormalize is the wire tolerance's cost on one page of 100
// persons: the canonical page (the common case: a scan, no rewrite), the
// same page with flat references (decoded, rewritten, encoded again), and
// beside them the decoding every page pays anyway, as the baseline.
func BenchmarkNormalize(b *testing.B) {
	page := personsPage(0, 100, nil)
	canonical, err := json.Marshal(page)
	if err != nil {
		b.Fatal(err)
	}
	for _, p := range page["data"].([]any) {
		p.(map[string]any)["$schools"] = []any{map[string]any{"id": "8d4f0f4a-1c1b-4b7a-9a43-2f1d6b2c9e11", "org_type": "School"}}
	}
	flat, err := json.Marshal(page)
	if err != nil {
		b.Fatal(err)
	}
	op := operationOf("GET", "/rostering/persons")
	for _, bc := range []struct {
		name string
		body []byte
	}{{"canonical", canonical}, {"flat-refs", flat}} {
		b.Run("normalize/"+bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(bc.body)))
			b.ReportAllocs()
			for b.Loop() {
				normalizeBody(op, bc.body, nil, "", nil, time.Now)
			}
		})
		b.Run("baseline-decode/"+bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(bc.body)))
			b.ReportAllocs()
			for b.Loop() {
				var p pageBody[models.Person]
				if err := json.Unmarshal(bc.body, &p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkNew builds a client with validation on: the contract is loaded
// and compiled once per process (contract.Shared), not per client.
func BenchmarkNew(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := New("https://api.example.org/v2/interop/data", WithValidation(ValidationEnforce), WithBearerToken("x")); err != nil {
			b.Fatal(err)
		}
	}
}
