package client

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"
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
// of 100 persons: the per-page cost a roster export pays.
func BenchmarkDecodePersonsPage(b *testing.B) {
	body, err := json.Marshal(personsPage(0, 100, nil))
	if err != nil {
		b.Fatal(err)
	}
	for _, mode := range []ValidationMode{ValidationOff, ValidationEnforce} {
		b.Run("validation="+mode.String(), func(b *testing.B) {
			c, err := New("https://api.example.org/v2/interop/data",
				WithHTTPClient(&http.Client{Transport: stubTransport{body}}), WithValidation(mode), WithBearerToken("x"))
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				n := 0
				for _, err := range c.Persons(ctx, &ListOptions{PageSize: 100}) {
					if err != nil {
						b.Fatal(err)
					}
					n++
				}
				if n != 100 {
					b.Fatalf("%d persons", n)
				}
			}
		})
	}
}
