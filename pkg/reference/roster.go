package reference

import (
	"encoding/json"
	"net/http"
	"strconv"
	"sync"

	"github.com/interop-data/interop/gen/models"
	"github.com/interop-data/interop/pkg/reference/store"
)

// The rostering and grades operations themselves are generated from the
// spec (operations.gen.go); this file holds what they write.

// rawPage is a list answer written straight from the stored JSON. The store
// keeps every object exactly as the API renders it (store.Object.Data), so
// decoding each one into its generated type only to encode it again was
// wasted work: most of a page's cost when response validation is off. The
// kit's response validation, when on, still checks what is written. One
// type serves every list operation.
type rawPage struct {
	objs []store.Object
	next *string
}

func (p rawPage) write(w http.ResponseWriter) error {
	paging, err := json.Marshal(models.Paging{Next: p.next})
	if err != nil {
		return err
	}
	n := len(`{"data":[],"paging":}`) + len(paging) + 1
	for _, o := range p.objs {
		n += len(o.Data) + 1
	}
	bp := pageBufs.Get().(*[]byte)
	b := (*bp)[:0]
	if cap(b) < n {
		b = make([]byte, 0, n)
	}
	b = append(b, `{"data":[`...)
	for i, o := range p.objs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, o.Data...)
	}
	b = append(b, `],"paging":`...)
	b = append(b, paging...)
	b = append(b, "}\n"...)
	err = writeJSON(w, b)
	if cap(b) <= maxPooledPage {
		*bp = b
		pageBufs.Put(bp)
	}
	return err
}

// pageBufs recycles the buffers pages are built in: the writer is done
// with the bytes once Write returns (net/http and the kit's response
// capture copy them), and a page is tens of kilobytes the collector would
// otherwise scan and free on every request.
var pageBufs = sync.Pool{New: func() any { return new([]byte) }}

// maxPooledPage is the largest buffer pageBufs keeps (a full page of 2000
// persons is about a megabyte).
const maxPooledPage = 2 << 20

// rawFound is a find answer, {"data": stored JSON}, for every find operation.
type rawFound struct{ data json.RawMessage }

func (f rawFound) write(w http.ResponseWriter) error {
	b := make([]byte, 0, len(f.data)+len(`{"data":}`)+1)
	b = append(b, `{"data":`...)
	b = append(b, f.data...)
	b = append(b, "}\n"...)
	return writeJSON(w, b)
}

// writeJSON sends b with its length declared: net/http then writes it
// as is instead of in chunks, in fewer writes to the socket. (A response
// the kit replaces with an error drops the length: writeError.)
func writeJSON(w http.ResponseWriter, b []byte) error {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	_, err := w.Write(b)
	return err
}
