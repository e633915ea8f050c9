package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/interop-data/interop/gen/models"
	"github.com/interop-data/interop/pkg/client"
	"github.com/interop-data/interop/pkg/reference"
	"github.com/interop-data/interop/pkg/reference/lti"
)

// ltiToken runs `interop tenant lti-token` and returns its stdout.
func ltiToken(t *testing.T, args ...string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	if err := runTenant(context.Background(), append([]string{"lti-token"}, args...), &out, &errOut); err != nil {
		t.Fatalf("tenant lti-token %v: %v\n%s", args, err, errOut.String())
	}
	return out.String()
}

// A token from `interop tenant lti-token` lists, finds, leases and
// acknowledges through the client's LTI mode on `interop serve --demo`, and
// a token naming two tenants narrows with tenant_id.
func TestServeLTITestIssuer(t *testing.T) {
	db := filepath.Join(t.TempDir(), "interop.db")
	srv := startServe(t, "--db", db, "--demo")
	out := srv.Out.String()
	for _, want := range []string{"LTI JWT:   test issuer " + lti.IssuerName, "audience " + lti.Audience, lti.JWKSPath,
		"interop tenant lti-token --db " + db + " --tenant demo"} {
		if !strings.Contains(out, want) {
			t.Fatalf("serve output lacks %q:\n%s", want, out)
		}
	}
	raw := ltiToken(t, "--db", db, "--tenant", "demo")
	tok := strings.TrimSuffix(raw, "\n")
	if strings.Count(raw, "\n") != 1 || strings.Count(tok, ".") != 2 {
		t.Fatalf("lti-token printed %q, want the token alone on a line", raw)
	}
	ctx := context.Background()
	c, err := client.New(srv.Base, client.WithLTIJWTFunc(func(context.Context) (string, error) { return tok, nil }))
	if err != nil {
		t.Fatal(err)
	}
	var school models.Org
	for o, err := range c.Schools(ctx, &client.ListOptions{PageSize: 1}) {
		if err != nil {
			t.Fatal(err)
		}
		school = o
		break
	}
	found, err := c.FindOrg(ctx, school.Sys.ID)
	if err != nil || found.Sys.ID != school.Sys.ID {
		t.Fatalf("FindOrg = %v, %v", found, err)
	}
	batch, err := c.ListTasks(ctx, &client.TaskListOptions{PageSize: 3})
	if err != nil || len(batch) != 3 {
		t.Fatalf("ListTasks = %d tasks, %v", len(batch), err)
	}
	rc, err := c.AcknowledgeTask(ctx, batch[0].ID, models.TaskAck{Status: models.Success, Message: "via LTI"})
	if err != nil || rc.Status != models.Success {
		t.Fatalf("AcknowledgeTask = %+v, %v", rc, err)
	}
	if _, err := c.FindAdminTask(ctx, batch[0].ID, ""); err == nil {
		t.Fatal("an acknowledged task is still queued")
	}
	rs, err := c.AcknowledgeTasks(ctx, []models.TaskAckGroupItem{{TaskID: batch[1].ID}, {TaskID: batch[2].ID, Status: models.Retry}})
	if err != nil || len(rs) != 2 || rs[0].Status != models.Success || rs[1].Status != models.Retry {
		t.Fatalf("AcknowledgeTasks = %+v, %v", rs, err)
	}

	// A second tenant, and a token naming both: tenant_id narrows.
	var created bytes.Buffer
	if err := runTenant(ctx, []string{"create", "--db", db, "--name", "Second"}, &created, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	var creds struct {
		TenantID uuid.UUID `json:"tenant_id"`
	}
	if err := json.Unmarshal(created.Bytes(), &creds); err != nil {
		t.Fatal(err)
	}
	var j lti.Token
	if err := json.Unmarshal([]byte(ltiToken(t, "--db", db, "--tenant", "demo,Second", "--ttl", "10m", "--json")), &j); err != nil {
		t.Fatal(err)
	}
	if ids, _ := j.Claims["tenant_id"].([]any); len(ids) != 2 || time.Until(j.ExpiresAt) > 10*time.Minute || j.KeyID == "" {
		t.Fatalf("--json = %+v", j)
	}
	both, err := client.New(srv.Base, client.WithBearerToken(j.Token))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[uuid.UUID]int{}
	for task, err := range both.AdminTasks(ctx, &client.TaskListOptions{TenantID: creds.TenantID}) {
		if err != nil {
			t.Fatal(err)
		}
		seen[task.TenantID]++
	}
	if len(seen) != 1 || seen[creds.TenantID] != 1 { // its TENANT_INSTALLED
		t.Fatalf("the admin list narrowed to the new tenant holds tasks of %v", seen)
	}
	if _, err := both.ListTasks(ctx, &client.TaskListOptions{TenantID: uuid.New()}); !isStatus(err, http.StatusForbidden) {
		t.Fatalf("tenant_id of a tenant the token does not name: %v, want 403", err)
	}
}

func isStatus(err error, status int) bool {
	var ae *client.APIError
	return err != nil && errors.As(err, &ae) && ae.StatusCode == status
}

// `interop serve --lti-issuer` trusts an external platform's keys (here a
// JWKS file) instead of the test issuer.
func TestServeLTIExternalPlatform(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "interop.db")
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pt, _ := key.PublicKey.Bytes()
	jwks, _ := json.Marshal(map[string]any{"keys": []any{map[string]any{
		"kty": "EC", "crv": "P-256", "kid": "platform-1", "alg": "ES256", "use": "sig",
		"x": base64.RawURLEncoding.EncodeToString(pt[1:33]), "y": base64.RawURLEncoding.EncodeToString(pt[33:]),
	}}})
	jwksFile := filepath.Join(dir, "jwks.json")
	if err := os.WriteFile(jwksFile, jwks, 0o600); err != nil {
		t.Fatal(err)
	}
	srv := startServe(t, "--db", db, "--demo", "--lti-issuer", "https://platform.example", "--lti-audience", "tool-1", "--lti-jwks-file", jwksFile)
	if out := srv.Out.String(); !strings.Contains(out, "trusting issuer https://platform.example, audience tool-1") || strings.Contains(out, "lti-token") {
		t.Fatalf("serve output:\n%s", out)
	}
	now := time.Now()
	sign := func(iss string) string {
		tok := jwt.NewWithClaims(jwt.SigningMethodES256, jwt.MapClaims{
			"iss": iss, "aud": "tool-1", "sub": "u", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
			"tenant_id": reference.DemoTenantID.String(),
		})
		tok.Header["kid"] = "platform-1"
		s, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	orgs := srv.Base + "/rostering/orgs?page_size=1"
	for _, c := range []struct {
		token string
		want  int
	}{
		{sign("https://platform.example"), 200},
		{sign("https://other.example"), 401},
		{strings.TrimSpace(ltiToken(t, "--db", db, "--tenant", "demo")), 401}, // the test issuer is off
	} {
		var v any
		if code := getJSON(t, orgs, c.token, &v); code != c.want {
			t.Errorf("GET /rostering/orgs = %d, want %d", code, c.want)
		}
	}
}

// Refused LTI flag combinations exit 2 with a message.
func TestServeLTIFlagErrors(t *testing.T) {
	for _, args := range [][]string{
		{"--lti-issuer", "https://p.example"},
		{"--lti-issuer", "https://p.example", "--lti-audience", "a"},
		{"--lti-issuer", "https://p.example", "--lti-audience", "a", "--lti-jwks-url", "http://127.0.0.1:1/j", "--lti-jwks-file", "f"},
		{"--lti-audience", "a", "--lti-jwks-url", "http://127.0.0.1:1/j"},
	} {
		var out, errOut bytes.Buffer
		err := runServe(context.Background(), append([]string{"--addr", "127.0.0.1:0", "--db", filepath.Join(t.TempDir(), "x.db")}, args...), &out, &errOut)
		if code, ok := err.(exitError); !ok || code != 2 || !strings.Contains(errOut.String(), "--lti-issuer needs") {
			t.Errorf("serve %v = %v, stderr %q", args, err, errOut.String())
		}
	}
	var errOut bytes.Buffer
	if err := runTenant(context.Background(), []string{"lti-token", "--db", "x.db", "--tenant", "demo", "--ttl", "25h"}, &bytes.Buffer{}, &errOut); err == nil || !strings.Contains(errOut.String(), "at most 24h") {
		t.Errorf("--ttl 25h: %v %q", err, errOut.String())
	}
}
