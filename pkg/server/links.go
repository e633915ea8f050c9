package server

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// WithPublicURL sets the base URL clients reach the server at (for example
// "https://api.example.org", or with a path prefix a proxy strips,
// "https://example.org/interop"): RequestURL, and so every paging.next link,
// is built on it whatever Host or X-Forwarded-* headers a request carries.
// It is the setting to use behind a proxy or a load balancer. New fails on a
// URL that is not absolute http(s).
func WithPublicURL(u string) Option { return func(s *Server) { s.links.raw = u } }

// WithAllowedHosts names the Host values (host or host:port, compared
// without case) that RequestURL may use as they come. Any other Host gets
// links to the address the connection arrived on instead; with
// WithTrustedProxies, a proxy's X-Forwarded-Host is taken only when it is on
// the list (without a list, never). Without WithPublicURL or this
// option, only that address itself (and "localhost" when it is a loopback
// one) is taken from the request: the Host header is the client's to choose,
// and a link built on it would send the next page's token to whoever the
// client (or an attacker between a victim and a cache) named.
func WithAllowedHosts(hosts ...string) Option {
	return func(s *Server) { s.links.allowed = append(s.links.allowed, hosts...) }
}

// ConfigError is New's answer to an option given a value it cannot use.
type ConfigError struct {
	Option string // the option, e.g. "WithPublicURL"
	Reason string
}

func (e *ConfigError) Error() string { return "server: " + e.Option + ": " + e.Reason }

// links says which scheme and host paging links are built on.
type links struct {
	raw     string
	allowed []string

	public  *url.URL
	allowOK map[string]bool
}

func (l *links) init() error {
	if l.raw != "" {
		u, err := url.Parse(l.raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
			return &ConfigError{Option: "WithPublicURL", Reason: fmt.Sprintf("%q is not an absolute http(s) URL without user, query or fragment", l.raw)}
		}
		u.Path = strings.TrimSuffix(u.Path, "/")
		u.RawPath = ""
		l.public = u
	}
	l.allowOK = make(map[string]bool, len(l.allowed))
	for _, h := range l.allowed {
		h = strings.ToLower(strings.TrimSpace(h))
		if !validHost(h) {
			return &ConfigError{Option: "WithAllowedHosts", Reason: fmt.Sprintf("%q is not a host[:port]", h)}
		}
		l.allowOK[h] = true
	}
	return nil
}

// requestURL builds the absolute URL of r for RequestURL.
func (l *links) requestURL(r *http.Request, trustProxy bool) *url.URL {
	u := &url.URL{Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: r.URL.RawQuery}
	if l.public != nil {
		u.Scheme, u.Host = l.public.Scheme, l.public.Host
		if l.public.Path != "" {
			u.Path = l.public.Path + r.URL.Path
			if r.URL.RawPath != "" {
				u.RawPath = l.public.EscapedPath() + r.URL.RawPath
			}
		}
		return u
	}
	u.Scheme, u.Host = "http", strings.ToLower(r.Host)
	if r.TLS != nil {
		u.Scheme = "https"
	}
	if trustProxy {
		if p := firstValue(r.Header.Get("X-Forwarded-Proto")); p == "http" || p == "https" {
			u.Scheme = p
		}
		// A proxy often copies the client's Host into X-Forwarded-Host, so
		// it is taken only from the operator's list, like a Host.
		if h := firstValue(r.Header.Get("X-Forwarded-Host")); validHost(h) && l.allowOK[h] {
			return &url.URL{Scheme: u.Scheme, Host: h, Path: u.Path, RawPath: u.RawPath, RawQuery: u.RawQuery}
		}
	}
	local := localAddr(r)
	if !l.known(u.Host, local) {
		u.Host = local
	}
	return u
}

// known says whether host may be used in links as the request named it.
func (l *links) known(host, local string) bool {
	if !validHost(host) {
		return false
	}
	if l.allowOK[host] || host == local {
		return true
	}
	// localhost[:port] is as safe as the loopback address it names.
	h, port, err := net.SplitHostPort(local)
	if err != nil {
		return false
	}
	if ip := net.ParseIP(h); ip != nil && ip.IsLoopback() {
		return host == net.JoinHostPort("localhost", port)
	}
	return false
}

// localAddr is the address the request's connection arrived on, as a link
// host: not the client's to choose. A request served without a connection
// (a test calling ServeHTTP) gets "localhost".
func localAddr(r *http.Request) string {
	a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	if !ok || a == nil {
		return "localhost"
	}
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return "localhost"
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return strings.ToLower(a.String())
	}
	if ip.IsUnspecified() {
		return net.JoinHostPort("localhost", port)
	}
	return net.JoinHostPort(ip.String(), port)
}
