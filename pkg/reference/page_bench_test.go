package reference_test

import (
	"io"
	"net/http"
	"testing"

	"github.com/interop-data/interop/pkg/reference"
	"github.com/interop-data/interop/pkg/reference/referencetest"
	"github.com/interop-data/interop/pkg/server"
)

// BenchmarkPersonsPage100 fetches one page of 100 persons through HTTP from
// the in-process server (SQLite, the demo district, response validation
// off), for the
// allocations a page costs: server and client together, as -benchmem
// reports them. The page's CPU beside its floor is BenchmarkPageCPU
// (cmd/interop), on the real binary.
func BenchmarkPersonsPage100(b *testing.B) {
	env := referencetest.Start(b, referencetest.WithTenants(1), referencetest.WithDistrict(reference.DefaultDemo), referencetest.WithServerOptions(server.WithResponseValidation(server.ValidationOff)))
	token := env.Token(b, 0)
	url := env.URL + "/rostering/persons?page_size=100"
	b.ReportAllocs()
	for b.Loop() {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || n < 1000 {
			b.Fatalf("GET = %d, %d bytes", resp.StatusCode, n)
		}
	}
}
