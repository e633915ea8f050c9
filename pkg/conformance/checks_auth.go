package conformance

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

func (r *run) authChecks() []check {
	return []check{
		{group: "auth", name: "token endpoint issues bearer tokens (secret in the body or by HTTP Basic)", run: checkTokenSuccess},
		{group: "auth", name: "token endpoint answers RFC 6749 errors", run: checkTokenErrors},
		{group: "auth", name: "requests without credentials get 401", run: func(c *C) { c.checkUnauthorized(authNone, "without an Authorization header") }},
		{group: "auth", name: "requests with a bad token get 401", run: func(c *C) { c.checkUnauthorized(authBad, "with a bearer token the server never issued") }},
		{group: "auth", name: "client credentials are not accepted in place of a token", run: func(c *C) {
			c.checkUnauthorized(authBasic, "with the client's id and secret as HTTP Basic instead of a token")
		}},
		{group: "auth", name: "an LTI JWT authorises requests for its tenant", run: checkLTIToken},
		{group: "auth", name: "a tampered LTI JWT gets 401", run: checkLTITampered},
	}
}

// needLTI skips a check when no LTI JWT was given.
func (c *C) needLTI() *tenant {
	if c.r.lti == nil {
		c.skipf("needs an LTI JWT naming tenant 1 (--lti-token; the reference server mints one: interop tenant lti-token)")
	}
	return c.r.lti
}

// checkLTIToken: the LTI JWT reads what tenant 1's OAuth2 token reads, on a
// list, the admin queue and GET /tasks with tenant 1's tenant_id.
func checkLTIToken(c *C) {
	lt := c.needLTI()
	as := c.r.tenants[0]
	for _, l := range rosterLists[:1] {
		want, got := ids(c.all(as, l), l), ids(c.all(lt, l), l)
		if len(want) != len(got) {
			c.failf("an LTI JWT naming tenant 1 reads tenant 1's data, but %s answered %d objects to it and %d to tenant 1's OAuth2 token", l.op, len(got), len(want))
		}
		for id := range got {
			if !want[id] {
				c.failf("an LTI JWT naming tenant 1 reads tenant 1's data, but %s showed it %s, which tenant 1's OAuth2 token does not see", l.op, id)
			}
		}
	}
	ex := c.get(lt, "/tasks/admin", url.Values{"page_size": {"1"}})
	c.want(ex, 200, "an LTI JWT authorises listAdminTasks")
}

func checkLTITampered(c *C) {
	lt := c.needLTI()
	parts := strings.Split(lt.token, ".")
	if len(parts) != 3 {
		c.failf("--lti-token is not a JWT (three dot-separated parts)")
	}
	// flip changes a character in the middle: the last one of a base64url
	// segment may carry only padding bits, which decoders commonly ignore,
	// so changing it may leave the decoded bytes (and a valid signature) as
	// they were.
	flip := func(s string) string {
		if s == "" {
			return "A"
		}
		i := len(s) / 2
		repl := byte('A')
		if s[i] == 'A' {
			repl = 'B'
		}
		return s[:i] + string(repl) + s[i+1:]
	}
	for _, bad := range []struct{ what, token string }{
		{"its signature altered", parts[0] + "." + parts[1] + "." + flip(parts[2])},
		{"its claims altered", parts[0] + "." + flip(parts[1]) + "." + parts[2]},
		{"its signature removed", parts[0] + "." + parts[1] + "."},
	} {
		ex := c.send(request{method: http.MethodGet, path: "/rostering/orgs", query: url.Values{"page_size": {"1"}},
			as: &tenant{label: "tampered LTI JWT", token: bad.token}})
		c.wantError(ex, 401, "an LTI JWT with "+bad.what+" must get 401")
	}
}

func (c *C) token(form url.Values, basic *Credentials) *tokenExchange {
	tx, err := c.r.tokenRequest(c.ctx, form, basic)
	if err != nil {
		c.failf("the token endpoint %s did not answer: %v", c.r.cfg.TokenURL, err)
	}
	c.seen = append(c.seen, tx.String())
	return tx
}

func checkTokenSuccess(c *C) {
	cr := c.r.tenants[0].creds
	body := url.Values{"grant_type": {"client_credentials"}, "client_id": {cr.ClientID}, "client_secret": {cr.ClientSecret}}
	for _, tc := range []struct {
		how   string
		form  url.Values
		basic *Credentials
	}{
		{"client_id and client_secret in the form body", body, nil},
		{"HTTP Basic client authentication", url.Values{"grant_type": {"client_credentials"}}, &cr},
	} {
		tx := c.token(tc.form, tc.basic)
		promise := "RFC 6749 §4.4.3/§5.1: a valid client-credentials request (" + tc.how + ") gets 200 with an access token"
		if tx.Status != http.StatusOK {
			c.failf("%s, but the token endpoint answered %d", promise, tx.Status)
		}
		if !strings.HasPrefix(tx.Header.Get("Content-Type"), "application/json") {
			c.failf("%s as application/json, but the Content-Type was %q", promise, tx.Header.Get("Content-Type"))
		}
		tok, _ := tx.JSON["access_token"].(string)
		if tok == "" {
			c.failf("%s, but the answer has no access_token", promise)
		}
		if tt, _ := tx.JSON["token_type"].(string); !strings.EqualFold(tt, "bearer") {
			c.failf("%s of token_type \"Bearer\", but token_type was %q", promise, tt)
		}
		if cc := strings.ToLower(tx.Header.Get("Cache-Control")); !strings.Contains(cc, "no-store") {
			c.failf("RFC 6749 §5.1: a token answer carries Cache-Control: no-store, but it carried %q", tx.Header.Get("Cache-Control"))
		}
		if v, ok := tx.JSON["expires_in"]; ok {
			if n, isNum := v.(float64); !isNum || n <= 0 {
				c.failf("RFC 6749 §5.1: expires_in is a positive number of seconds, but it was %v", v)
			}
		}
		// The token must work: one authenticated request with it.
		ex := c.send(request{method: http.MethodGet, path: "/rostering/orgs", query: url.Values{"page_size": {"1"}},
			as: &tenant{label: "fresh token", token: tok}})
		c.want(ex, 200, "a token the endpoint just issued must authorise API requests")
	}
}

func checkTokenErrors(c *C) {
	cr := c.r.tenants[0].creds
	wrong := Credentials{ClientID: cr.ClientID, ClientSecret: cr.ClientSecret + "-wrong"}
	unknown := Credentials{ClientID: "conformance-unknown-" + randomUUID()[:8], ClientSecret: "x"}
	form := func(grant string, cr Credentials) url.Values {
		v := url.Values{"client_id": {cr.ClientID}, "client_secret": {cr.ClientSecret}}
		if grant != "" {
			v.Set("grant_type", grant)
		}
		return v
	}
	cases := []struct {
		what     string
		form     url.Values
		basic    *Credentials
		statuses []int
		codes    []string
		wwwAuth  bool
	}{
		{"a request without grant_type", form("", cr), nil, []int{400}, []string{"invalid_request"}, false},
		{"an unsupported grant_type (password)", form("password", cr), nil, []int{400}, []string{"unsupported_grant_type", "unauthorized_client"}, false},
		{"a wrong client secret in the body", form("client_credentials", wrong), nil, []int{400, 401}, []string{"invalid_client"}, false},
		{"an unknown client in the body", form("client_credentials", unknown), nil, []int{400, 401}, []string{"invalid_client"}, false},
		// §5.2: a client that authenticated by the Authorization header gets 401
		// and WWW-Authenticate.
		{"a wrong client secret by HTTP Basic", url.Values{"grant_type": {"client_credentials"}}, &wrong, []int{401}, []string{"invalid_client"}, true},
		{"no client authentication at all", url.Values{"grant_type": {"client_credentials"}}, nil, []int{400, 401}, []string{"invalid_client", "invalid_request"}, false},
	}
	for _, tc := range cases {
		tx := c.token(tc.form, tc.basic)
		promise := fmt.Sprintf("RFC 6749 §5.2: %s gets %s with error %s", tc.what, joinInts(tc.statuses), strings.Join(tc.codes, " or "))
		if !slices.Contains(tc.statuses, tx.Status) {
			c.failf("%s, but the token endpoint answered %d %s", promise, tx.Status, abridge(redactToken(tx.Body), 200))
		}
		if !strings.HasPrefix(tx.Header.Get("Content-Type"), "application/json") {
			c.failf("%s as application/json, but the Content-Type was %q", promise, tx.Header.Get("Content-Type"))
		}
		code, _ := tx.JSON["error"].(string)
		if !slices.Contains(tc.codes, code) {
			c.failf("%s, but the error was %q", promise, code)
		}
		if _, leaked := tx.JSON["access_token"]; leaked {
			c.failf("%s and no token, but the answer carried an access_token", promise)
		}
		if tc.wwwAuth && tx.Header.Get("WWW-Authenticate") == "" {
			c.failf("RFC 6749 §5.2: a 401 to a client that authenticated by HTTP Basic carries WWW-Authenticate, but there was none")
		}
	}
}

// operations lists one request per operation of the contract; ids are fresh
// random UUIDs, so a server that wrongly accepts the request changes nothing.
func operations() []request {
	id := randomUUID()
	ack := []byte(`{"status":"success"}`)
	group := []byte(`[{"task_id":"` + id + `","status":"success"}]`)
	return []request{
		{method: "GET", path: "/tasks", query: url.Values{"page_size": {"1"}}},
		{method: "PUT", path: "/tasks/ack", body: group},
		{method: "PUT", path: "/tasks/" + id + "/ack", body: ack},
		{method: "GET", path: "/tasks/admin"},
		{method: "PUT", path: "/tasks/admin/ack", body: group},
		{method: "PUT", path: "/tasks/admin/" + id + "/ack", body: ack},
		{method: "GET", path: "/tasks/admin/" + id},
		{method: "DELETE", path: "/tasks/admin/" + id},
		{method: "GET", path: "/rostering/orgs"},
		{method: "GET", path: "/rostering/leas"},
		{method: "GET", path: "/rostering/leas/" + id},
		{method: "GET", path: "/rostering/schools"},
		{method: "GET", path: "/rostering/orgs/" + id},
		{method: "GET", path: "/rostering/orgs/" + id + "/students"},
		{method: "GET", path: "/rostering/orgs/" + id + "/teachers"},
		{method: "GET", path: "/rostering/orgs/" + id + "/courses"},
		{method: "GET", path: "/rostering/orgs/" + id + "/sections"},
		{method: "GET", path: "/rostering/orgs/" + id + "/terms"},
		{method: "GET", path: "/rostering/persons"},
		{method: "GET", path: "/rostering/persons/" + id},
		{method: "GET", path: "/rostering/students"},
		{method: "GET", path: "/rostering/teachers"},
		{method: "GET", path: "/rostering/courses"},
		{method: "GET", path: "/rostering/courses/" + id},
		{method: "GET", path: "/rostering/sections"},
		{method: "GET", path: "/rostering/sections/" + id},
		{method: "GET", path: "/rostering/terms"},
		{method: "GET", path: "/rostering/terms/" + id},
		{method: "GET", path: "/grades/gradingCategories"},
	}
}

// checkUnauthorized sends every operation with the given (missing or wrong)
// credentials and wants 401 with the error body from each.
func (c *C) checkUnauthorized(mode authMode, how string) {
	for _, q := range operations() {
		q.auth = mode
		ex := c.send(q)
		c.wantError(ex, 401, fmt.Sprintf("%s (%s) %s must get 401 with the error body", ex.OpID, q.method, how))
	}
	c.notef("all %d operations answered 401", len(operations()))
}
