package reference

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/interop-data/interop/pkg/reference/store"
	"github.com/interop-data/interop/pkg/server"
)

// A paging cursor is the position of the last item of a page, signed so
// that it is good only on the list, for the tenants, that issued it:
//
//	version (1 byte) | page number (4) | position (8) | MAC (16)
//
// The MAC is HMAC-SHA256, under a key the store keeps for every replica,
// of the first 13 bytes and the list's identity (operation, filters,
// tenants), so an altered cursor and one from another list or tenant fail
// alike. The page number only numbers the page in the next link.

const (
	cursorVersion = 1
	cursorBody    = 1 + 4 + 8
	cursorLen     = cursorBody + 16
	// cursorSecret names the store's key for cursors.
	cursorSecret = "paging-cursor"
)

var errCursor = errors.New("invalid cursor")

// listID is the identity of an object list for a set of tenants.
func listID(q store.ObjectQuery) string {
	org := ""
	if q.Org != nil {
		org = q.Org.String()
	}
	return "objects\x00" + string(q.Kind) + "\x00" + q.Subtype + "\x00" + org + "\x00" + tenantsID(q.Tenants)
}

// taskListID is the identity of an admin task list for a set of tenants.
func taskListID(q store.TaskQuery) string {
	return "tasks\x00" + q.Driver + "\x00" + tenantsID(q.Tenants)
}

func tenantsID(ts []uuid.UUID) string {
	ss := make([]string, len(ts))
	for i, t := range ts {
		ss[i] = t.String()
	}
	slices.Sort(ss)
	return strings.Join(ss, ",")
}

func cursorMAC(key []byte, body []byte, list string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(body)
	m.Write([]byte(list))
	return m.Sum(nil)[:cursorLen-cursorBody]
}

// encodeCursor signs the position after which the page numbered page starts.
func encodeCursor(key []byte, list string, page int32, after int64) string {
	b := make([]byte, cursorBody, cursorLen)
	b[0] = cursorVersion
	binary.BigEndian.PutUint32(b[1:5], uint32(page))
	binary.BigEndian.PutUint64(b[5:13], uint64(after))
	b = append(b, cursorMAC(key, b, list)...)
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor checks a cursor against the list and returns its page
// number and position.
func decodeCursor(key []byte, list, s string) (page int32, after int64, err error) {
	// The decoder skips CR and LF anywhere, so a cursor with line breaks
	// would decode; only the one spelling encodeCursor makes is accepted.
	if len(s) != base64.RawURLEncoding.EncodedLen(cursorLen) {
		return 0, 0, errCursor
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil || len(b) != cursorLen || b[0] != cursorVersion {
		return 0, 0, errCursor
	}
	if !hmac.Equal(b[cursorBody:], cursorMAC(key, b[:cursorBody], list)) {
		return 0, 0, errCursor
	}
	page, after = int32(binary.BigEndian.Uint32(b[1:5])), int64(binary.BigEndian.Uint64(b[5:13]))
	if page < 1 || after < 1 {
		return 0, 0, errCursor // never issued
	}
	return page, after, nil
}

// cursorKey is the store's cursor key, read once.
func (h *Handler) cursorKey(ctx context.Context) ([]byte, error) {
	h.keyMu.Lock()
	defer h.keyMu.Unlock()
	if h.key == nil {
		k, err := h.st.Secret(ctx, cursorSecret)
		if err != nil {
			return nil, err
		}
		h.key = bytes.Clone(k)
	}
	return h.key, nil
}

// position is where a page starts: after a cursor's position, or at an
// offset computed from page and page_size.
type position struct {
	page   int32
	after  int64
	offset int
	limit  int
}

// positionOf resolves page, page_size and cursor for the list with this
// identity. A cursor that does not verify is a 400.
func (h *Handler) positionOf(ctx context.Context, list string, page, size *int32, cur *string) (position, error) {
	var p position
	p.offset, p.limit = pageOf(page, size)
	if page != nil {
		p.page = *page
	}
	if cur == nil || *cur == "" {
		return p, nil
	}
	key, err := h.cursorKey(ctx)
	if err != nil {
		return p, err
	}
	pg, after, err := decodeCursor(key, list, *cur)
	if err != nil {
		return p, server.Errorf(http.StatusBadRequest, server.CodeInvalidParameter, `parameter "cursor" in query is invalid`).
			WithDetails("the cursor was altered, or belongs to another list or tenant: follow paging.next as given, or page with page and page_size")
	}
	p.page, p.after, p.offset = pg, after, 0
	return p, nil
}

// next is the link to the page after this one, whose last item is at last.
func (h *Handler) next(ctx context.Context, list string, p position, last int64) (*string, error) {
	key, err := h.cursorKey(ctx)
	if err != nil {
		return nil, err
	}
	return nextLink(ctx, p.page+1, p.limit, encodeCursor(key, list, p.page+1, last)), nil
}
