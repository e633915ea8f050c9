package server

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// WithTrustedProxies names the proxies whose X-Forwarded-* headers the
// server believes, as CIDR prefixes or single addresses ("10.0.0.0/8",
// "192.0.2.7", "::1"), and turns WithTrustProxyHeaders on. A request whose
// connection comes from any other address has those headers ignored: its
// client is the connection's address, its links are built as without a
// proxy. New fails on an entry that is neither.
func WithTrustedProxies(cidrs ...string) Option {
	return func(s *Server) {
		s.trustProxy = true
		s.proxies.raw = append(s.proxies.raw, cidrs...)
	}
}

// proxies is the set of trusted proxy addresses.
type proxies struct {
	raw      []string
	prefixes []netip.Prefix
}

func (p *proxies) init() error {
	for _, c := range p.raw {
		c = strings.TrimSpace(c)
		if c == "" {
			continue
		}
		pf, err := netip.ParsePrefix(c)
		if err != nil {
			a, aerr := netip.ParseAddr(c)
			if aerr != nil {
				return &ConfigError{Option: "WithTrustedProxies", Reason: fmt.Sprintf("%q is neither an address nor a CIDR prefix", c)}
			}
			pf = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		}
		p.prefixes = append(p.prefixes, pf.Masked())
	}
	return nil
}

func (p *proxies) trusted(a netip.Addr) bool {
	a = a.Unmap()
	for _, pf := range p.prefixes {
		if pf.Contains(a) {
			return true
		}
	}
	return false
}

// peer is the address of the request's connection, or an invalid Addr.
func peer(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap()
}

// fromTrustedProxy says whether r's forwarded headers are to be believed:
// trust is on and the connection comes from a named proxy.
func (s *Server) fromTrustedProxy(r *http.Request) bool {
	if !s.trustProxy {
		return false
	}
	a := peer(r)
	return a.IsValid() && s.proxies.trusted(a)
}

// clientIP is the kit's echo.IPExtractor: the connection's address, or, when
// that is a trusted proxy, the nearest address in X-Forwarded-For that is
// not one (read from the right: what a client writes itself is to the left
// of what the proxies append, so it can never make itself look nearer).
func (s *Server) clientIP(r *http.Request) string {
	a := peer(r)
	if !a.IsValid() {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			return r.RemoteAddr
		}
		return host
	}
	if !s.trustProxy || !s.proxies.trusted(a) {
		return a.String()
	}
	hops := r.Header.Values("X-Forwarded-For")
	for i := len(hops) - 1; i >= 0; i-- {
		parts := strings.Split(hops[i], ",")
		for j := len(parts) - 1; j >= 0; j-- {
			h, err := netip.ParseAddr(strings.TrimSpace(parts[j]))
			if err != nil {
				// A hop the proxies did not write sanely: the last good one is
				// as far as the chain can be believed.
				return a.String()
			}
			a = h.Unmap()
			if !s.proxies.trusted(a) {
				return a.String()
			}
		}
	}
	return a.String()
}
