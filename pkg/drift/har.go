package drift

import (
	"io"

	"github.com/interop-data/interop/pkg/har"
)

// RecordHAR checks every entry of a HAR 1.2 recording (pkg/har) as the
// proxy checks live traffic, with the same bound on bodies; it returns how
// many entries it read. On an error the entries before it are recorded.
func (r *Recorder) RecordHAR(rd io.Reader) (int, error) {
	n := 0
	err := har.Read(rd, func(e *har.Entry) error {
		n++
		r.Record(&Exchange{
			Method: e.Method, URL: e.URL,
			RequestHeader: e.RequestHeader, RequestBody: e.RequestBody,
			RequestTooLarge: int64(len(e.RequestBody)) > r.maxBody,
			Status:          e.Status, ResponseHeader: e.ResponseHeader, ResponseBody: e.ResponseBody,
			ResponseTooLarge:    int64(len(e.ResponseBody)) > r.maxBody,
			ResponseBodyMissing: e.ResponseBodyMissing,
		})
		return nil
	})
	return n, err
}
