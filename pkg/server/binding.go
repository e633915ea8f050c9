package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/interop-data/interop/internal/exactjson"
)

// bufferedBody is a request body the kit has already read (readBody): the
// validator and the binder work on its bytes instead of reading them again.
type bufferedBody struct {
	*bytes.Reader
	buf []byte
}

func newBufferedBody(b []byte) *bufferedBody {
	return &bufferedBody{Reader: bytes.NewReader(b), buf: b}
}

func (*bufferedBody) Close() error { return nil }

// unread is what nobody has read yet: the whole body unless someone read
// from it as a stream.
func (b *bufferedBody) unread() []byte { return b.buf[len(b.buf)-b.Len():] }

// jsonSerializer is Echo's JSON serializer with one change on the way in: a
// body the kit buffered is decoded with json.Unmarshal straight from its
// bytes. Echo's own json.Decoder copies the body into a buffer it grows by
// doubling (zeroing each new one), which on a large group acknowledgement
// cost as much as the decoding. Every decoding failure, including a value a
// type's UnmarshalText refuses, is a 400: with request validation off the
// binder is the only check, and a bad id must not become a 500. A key that
// differs from a declared field's name only by case is a 400 naming it.
type jsonSerializer struct{ echo.DefaultJSONSerializer }

func (s jsonSerializer) Deserialize(c echo.Context, v any) error {
	bb, ok := c.Request().Body.(*bufferedBody)
	if !ok {
		return s.DefaultJSONSerializer.Deserialize(c, v)
	}
	body := bb.unread()
	// The validator read keys exactly; the decoder would also fill a field
	// from a key that differs from its name only by case, letting
	// {"status":"retry","STATUS":"success"} pass as a retry and decode as a
	// success. Such a key is refused, so the handler gets what was validated.
	var ke *exactjson.KeyError
	if err := exactjson.Check(body, v); errors.As(err, &ke) {
		return &Error{Status: http.StatusBadRequest, Code: CodeInvalidBody, Message: "request body is invalid",
			Details: fmt.Sprintf("field %q: key %q differs from the declared %q only by case", ke.Pointer, ke.Key, ke.Field)}
	}
	if err := json.Unmarshal(body, v); err != nil {
		// fromEchoError words the answer; Go's error text stays internal.
		return echo.NewHTTPError(http.StatusBadRequest, "request body does not decode").SetInternal(err)
	}
	bb.Reset(nil)
	return nil
}
