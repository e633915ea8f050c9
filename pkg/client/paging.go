package client

import (
	"context"
	"fmt"
	"iter"
	"net/http"
	"net/url"
)

// ListOptions chooses the pages a list iterator reads.
type ListOptions struct {
	// PageSize is the number of objects per page (1 to 2000); 0 lets the
	// server choose (its maximum, 2000).
	PageSize int
	// Page is the zero-based page to start from.
	Page int
}

func (o *ListOptions) params() (page, size *int32) {
	if o == nil {
		return nil, nil
	}
	if o.Page > 0 {
		p := int32(o.Page)
		page = &p
	}
	if o.PageSize > 0 {
		s := int32(o.PageSize)
		size = &s
	}
	return page, size
}

// pageBody is the envelope of every list response. paging is a pointer so a
// body without it (the vendor's published examples) reads as the last page.
type pageBody[T any] struct {
	Data   []T `json:"data"`
	Paging *struct {
		Next *string `json:"next"`
	} `json:"paging"`
}

// Cursor is where a walk of a list stands: the absolute address of the next
// page to read, from the server's paging.next. The zero Cursor is the first
// page. A caller that stores it can resume a walk after an error (a 429 in
// the middle of a million persons) or in another process, with the same
// client configuration: a cursor is only followed to the base URL's origin.
type Cursor string

// Page is one page of a list.
type Page[T any] struct {
	Data []T
	// Next is the cursor of the following page; "" on the last one.
	Next Cursor
}

// readPage reads the page of a list operation that from names, or the first
// (built by first) when from is empty.
func readPage[T any](c *Client, ctx context.Context, op string, first func(server string) (*http.Request, error), from Cursor) (*Page[T], *http.Request, error) {
	var req *http.Request
	var err error
	if from == "" {
		req, err = first(c.server)
	} else {
		var u *url.URL
		if u, err = c.resolveNext(c.base, string(from)); err == nil {
			req, err = http.NewRequest(http.MethodGet, u.String(), nil)
		}
	}
	if err != nil {
		return nil, nil, fmt.Errorf("interop: %s: build request: %w", op, err)
	}
	var p pageBody[T]
	if err := c.do(ctx, op, req, &p); err != nil {
		return nil, req, err
	}
	page := &Page[T]{Data: p.Data}
	if p.Paging == nil || p.Paging.Next == nil || *p.Paging.Next == "" || len(p.Data) == 0 {
		return page, req, nil
	}
	next, err := c.resolveNext(req.URL, *p.Paging.Next)
	if err != nil {
		return nil, req, fmt.Errorf("interop: %s: %w", op, err)
	}
	page.Next = Cursor(next.String())
	return page, req, nil
}

// onePage is readPage for a caller that reads one page at a time.
func onePage[T any](c *Client, ctx context.Context, op string, first func(server string) (*http.Request, error), from Cursor) (*Page[T], error) {
	p, _, err := readPage[T](c, ctx, op, first, from)
	return p, err
}

// walk returns an iterator over every object of a list operation, page after
// page, following paging.next. It stops at a null (or absent) next link or an
// empty page; it yields ErrPagingLoop when next names a page already read,
// ErrForeignNext when next leaves the base URL's origin, and ctx.Err() as
// soon as ctx is done. After yielding an error it stops.
func walk[T any](c *Client, ctx context.Context, op string, first func(server string) (*http.Request, error)) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		seen := make(map[string]struct{})
		var at Cursor
		for {
			if err := ctx.Err(); err != nil {
				yield(zero, err)
				return
			}
			p, req, err := readPage[T](c, ctx, op, first, at)
			if req != nil {
				seen[req.URL.String()] = struct{}{}
			}
			if err != nil {
				yield(zero, err)
				return
			}
			for i := range p.Data {
				if err := ctx.Err(); err != nil {
					yield(zero, err)
					return
				}
				if !yield(p.Data[i], nil) {
					return
				}
			}
			if p.Next == "" {
				return
			}
			if _, dup := seen[string(p.Next)]; dup {
				yield(zero, fmt.Errorf("%w: %s: %s was already read", ErrPagingLoop, op, p.Next))
				return
			}
			at = p.Next
		}
	}
}

// resolveNext resolves a next link against the current page's URL and checks
// that it stays on the base URL's origin: the client sends its bearer token
// with every request and must not hand it to another host.
func (c *Client) resolveNext(cur *url.URL, next string) (*url.URL, error) {
	ref, err := url.Parse(next)
	if err != nil {
		return nil, fmt.Errorf("paging.next %q: %w", next, err)
	}
	u := cur.ResolveReference(ref)
	if u.Scheme != c.base.Scheme || u.Host != c.base.Host {
		return nil, fmt.Errorf("%w: %s (base %s://%s)", ErrForeignNext, u.Redacted(), c.base.Scheme, c.base.Host)
	}
	return u, nil
}

// Collect gathers every item of seq into a slice, stopping at the first
// error.
func Collect[T any](seq iter.Seq2[T, error]) ([]T, error) {
	var out []T
	for v, err := range seq {
		if err != nil {
			return out, err
		}
		out = append(out, v)
	}
	return out, nil
}
