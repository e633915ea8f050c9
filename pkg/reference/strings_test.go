package reference_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/interop-data/interop/pkg/reference/referencetest"
	"github.com/interop-data/interop/pkg/reference/store/postgres/pgtest"
)

// onBothStores runs fn against a reference server on SQLite and on
// PostgreSQL: the two must answer alike.
func onBothStores(t *testing.T, fn func(t *testing.T, env *referencetest.Env), opts ...referencetest.Option) {
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		fn(t, referencetest.Start(t, append(opts, referencetest.WithTenants(1))...))
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		fn(t, referencetest.Start(t, append(opts, referencetest.WithTenants(1), referencetest.WithDBPath(pgtest.Schema(t)))...))
	})
}

// U+0000 and bytes that are not UTF-8, where a client can put them: the
// credentials of the token endpoint are a 401 (no client can have such an
// id), a driver is a 400, and an acknowledgement's message keeps U+0000
// exactly. PostgreSQL answered all of them 500 (SQLSTATE 22021).
func TestNULAndInvalidUTF8(t *testing.T) {
	onBothStores(t, func(t *testing.T, env *referencetest.Env) {
		for _, id := range []string{"\x00", "demo\x00", "\xff", "caf\xc3"} {
			for _, basic := range []bool{false, true} {
				form := url.Values{"grant_type": {"client_credentials"}}
				if !basic {
					form.Set("client_id", id)
					form.Set("client_secret", "secret")
				}
				req, _ := http.NewRequest(http.MethodPost, env.TokenURL, strings.NewReader(form.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				if basic {
					req.SetBasicAuth(url.QueryEscape(id), "secret")
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				var body struct {
					Error string `json:"error"`
				}
				_ = json.NewDecoder(resp.Body).Decode(&body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusUnauthorized || body.Error != "invalid_client" {
					t.Errorf("token for client id %+q (basic %v) = %d %q, want 401 invalid_client", id, basic, resp.StatusCode, body.Error)
				}
			}
		}

		a := newAPI(t, env, 0)
		for _, d := range []string{"%00", "a%00b", "%FF", "caf%C3"} {
			a.wantError(http.MethodGet, "/tasks?driver="+d, nil, http.StatusBadRequest, "invalid_parameter")
			a.wantError(http.MethodGet, "/tasks/admin?driver="+d, nil, http.StatusBadRequest, "invalid_parameter")
		}

		var batch page
		a.get("/tasks?page_size=2", &batch)
		if len(batch.Data) != 2 {
			t.Fatalf("leased %d tasks, want 2", len(batch.Data))
		}
		ids := make([]uuid.UUID, 2)
		for i, raw := range batch.Data {
			var one map[string]struct {
				ID uuid.UUID `json:"id"`
			}
			if err := json.Unmarshal(raw, &one); err != nil {
				t.Fatal(err)
			}
			for _, v := range one {
				ids[i] = v.ID
			}
		}
		msg := "before\u0000after"
		if code, b := a.do(http.MethodPut, "/tasks/"+ids[0].String()+"/ack", `{"status":"error","message":"before\u0000after","$sys.app_id":"\u0000"}`); code != http.StatusOK {
			t.Fatalf("ack with \\u0000 in its message = %d %s", code, b)
		}
		if code, b := a.do(http.MethodPut, "/tasks/ack", `[{"task_id":"`+ids[1].String()+`","status":"reauthenticate","message":"\u0000"}]`); code != http.StatusOK {
			t.Fatalf("group ack with \\u0000 in its message = %d %s", code, b)
		}
		h, err := env.Store.History(context.Background(), env.Tenants[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(h) != 2 || h[0].TaskID != ids[0] || h[0].Message != msg || h[0].AppID != "\x00" || h[1].Message != "\x00" {
			t.Fatalf("history = %+v, want the messages as sent", h)
		}
		// The replay answers from the history, as any other.
		if code, b := a.do(http.MethodPut, "/tasks/"+ids[0].String()+"/ack", `{"status":"error","message":"again\u0000"}`); code != http.StatusOK {
			t.Fatalf("replayed ack = %d %s", code, b)
		}
	})
}
