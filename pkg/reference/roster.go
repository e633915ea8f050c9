package reference

import (
	"encoding/json"
	"net/http"

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
	b := make([]byte, 0, n)
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
	return writeJSON(w, b)
}

// rawFound is a find answer, {"data": stored JSON}, for every find operation.
type rawFound struct{ data json.RawMessage }

func (f rawFound) write(w http.ResponseWriter) error {
	b := make([]byte, 0, len(f.data)+len(`{"data":}`)+1)
	b = append(b, `{"data":`...)
	b = append(b, f.data...)
	b = append(b, "}\n"...)
	return writeJSON(w, b)
}

func writeJSON(w http.ResponseWriter, b []byte) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, err := w.Write(b)
	return err
}
