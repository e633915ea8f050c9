package reference_test

import (
	"io"
	"net/http"
	"testing"

	"github.com/interop-data/interop/pkg/reference/referencetest"
	"github.com/interop-data/interop/pkg/server"
)

func BenchmarkPage100InProcess(b *testing.B) {
	env := referencetest.Start(b, referencetest.WithTenants(1), referencetest.WithServerOptions(server.WithResponseValidation(server.ValidationOff)))
	token := env.Token(b, 0)
	url := env.URL + "/rostering/persons?page_size=10"
	b.ReportAllocs()
	for b.Loop() {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatal(resp.StatusCode)
		}
	}
}
