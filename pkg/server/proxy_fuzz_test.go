package server

import (
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
)

// FuzzClientIP holds the X-Forwarded-For reader to its promises on any
// header: it never fails; the answer is the peer or an address the header
// names; a peer that is no named proxy is the answer whatever the header
// says.
func FuzzClientIP(f *testing.F) {
	for _, s := range []string{
		"203.0.113.1", "203.0.113.1, 10.0.0.2", "10.0.0.2, 10.0.0.3", "", ",", "x, 203.0.113.1",
		"203.0.113.1,,10.0.0.2", "::ffff:10.0.0.2", "[::1]", "2001:db8::1, fd00::1", " 198.51.100.7 ",
	} {
		f.Add("10.0.0.1:4000", s)
		f.Add("192.0.2.1:4000", s)
	}
	f.Add("[fd00::5]:1", "2001:db8::1")
	f.Add("not-an-address", "203.0.113.1")
	s := &Server{trustProxy: true, proxies: proxies{raw: []string{"10.0.0.0/8", "fd00::/8"}}}
	if err := s.proxies.init(); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, remote, xff string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = remote
		r.Header.Set("X-Forwarded-For", xff)
		got := s.clientIP(r)
		p := peer(r)
		if !p.IsValid() {
			return
		}
		if !s.proxies.trusted(p) {
			if got != p.String() {
				t.Fatalf("untrusted peer %s: client %q", p, got)
			}
			return
		}
		a, err := netip.ParseAddr(got)
		if err != nil {
			t.Fatalf("client %q is not an address", got)
		}
		if a == p {
			return
		}
		for _, h := range strings.Split(xff, ",") {
			if h, err := netip.ParseAddr(strings.TrimSpace(h)); err == nil && h.Unmap() == a {
				return
			}
		}
		t.Fatalf("client %q is neither the peer nor in %q", got, xff)
	})
}
