package proxy_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/interop-data/interop/pkg/contract"
	"github.com/interop-data/interop/pkg/drift"
	"github.com/interop-data/interop/pkg/proxy"
)

// BenchmarkProxy: a list answer of each size fetched straight from the
// upstream (the baseline) and through the checking proxy (default bound,
// 8 MiB), chunked (no Content-Length) and with its length announced. B/op
// is the memory the whole exchange allocated, client and servers included
// (all in this process): above the bound it stays flat whatever the size.
// The numbers are in docs/PERFORMANCE.md.
func BenchmarkProxy(b *testing.B) {
	for _, size := range []int{16 << 10, 1 << 20, 32 << 20, 64 << 20} {
		body := listOf(size)
		for _, announced := range []bool{false, true} {
			up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				if announced {
					w.Header().Set("Content-Length", strconv.Itoa(len(body)))
				}
				for off := 0; off < len(body); off += 32 << 10 {
					_, _ = w.Write(body[off:min(off+32<<10, len(body))])
				}
			}))
			rec, err := drift.NewRecorder()
			if err != nil {
				b.Fatal(err)
			}
			p, err := proxy.New(up.URL, rec)
			if err != nil {
				b.Fatal(err)
			}
			ps := httptest.NewServer(p)
			kind := "chunked"
			if announced {
				kind = "length"
			}
			for _, via := range []struct{ name, url string }{{"direct", up.URL}, {"proxy", ps.URL}} {
				b.Run(fmt.Sprintf("%s/%dKiB/%s", kind, size>>10, via.name), func(b *testing.B) {
					b.SetBytes(int64(len(body)))
					b.ReportAllocs()
					for b.Loop() {
						resp, err := http.Get(via.url + contract.BasePath + "/rostering/students")
						if err != nil {
							b.Fatal(err)
						}
						n, _ := io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						if n != int64(len(body)) {
							b.Fatalf("%d bytes of %d", n, len(body))
						}
					}
					p.Wait()
				})
			}
			ps.Close()
			up.Close()
		}
	}
}

// listOf is a valid listStudents answer of about size bytes.
func listOf(size int) []byte {
	const item = `{"$sys":{"id":"6f1d2c3b-4a5e-4f60-8a7b-9c0d1e2f3a4b","person_type":"Student"},"name":{"first":"Ada","last":"Lovelace"}}`
	var sb strings.Builder
	sb.WriteString(`{"data":[`)
	for i := 0; sb.Len() < size-64; i++ {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(item)
	}
	sb.WriteString(`],"paging":{"next":null}}`)
	return []byte(sb.String())
}
