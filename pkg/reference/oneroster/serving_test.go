package oneroster

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/interop-data/interop/pkg/contract"
	"github.com/interop-data/interop/pkg/reference"
	"github.com/interop-data/interop/pkg/reference/store"
	"github.com/interop-data/interop/pkg/reference/store/postgres"
	"github.com/interop-data/interop/pkg/reference/store/postgres/pgtest"
	"github.com/interop-data/interop/pkg/reference/store/sqlite"
)

// servingBound is how long another tenant's request may take while a load
// runs (issue 21).
const servingBound = time.Second

// A district loads beside a serving server, as `interop load` does from
// another process on the same database (its own store handle) or from the
// server's own process (the same handle). In the middle of the load (while
// it writes its users), the load stops and another tenant gets a token,
// leases its task, acknowledges it and asks /readyz; each must succeed
// within servingBound. The load then finishes and must have loaded
// everything. Before issue 21 the SQLite load held the database's write
// lock from its first object to its commit, and every one of those
// requests waited for it.
func TestLoadBesideServingServer(t *testing.T) {
	t.Parallel()
	export := t.TempDir()
	rows := writeExport(t, export, 1000)
	type opener func(t *testing.T) func() store.Store
	sqliteFile := func(t *testing.T) func() store.Store {
		path := filepath.Join(t.TempDir(), "serve.db")
		return func() store.Store {
			st, err := sqlite.Open(context.Background(), path, sqlite.WithBusyTimeout(3*servingBound))
			if err != nil {
				t.Fatal(err)
			}
			return st
		}
	}
	pg := func(t *testing.T) func() store.Store {
		url := pgtest.Schema(t)
		return func() store.Store {
			st, err := postgres.Open(context.Background(), url)
			if err != nil {
				t.Fatal(err)
			}
			return st
		}
	}
	for _, c := range []struct {
		name   string
		open   opener
		shared bool // the load uses the server's own store handle
	}{
		{"sqlite/another-process", sqliteFile, false},
		{"sqlite/same-process", sqliteFile, true},
		{"postgres/another-process", pg, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			open := c.open(t)
			loadBesideServer(t, open, c.shared, export, rows)
		})
	}
}

func loadBesideServer(t *testing.T, open func() store.Store, shared bool, export string, rows int) {
	ctx := context.Background()
	srv, inst, err := reference.NewServer(ctx, reference.Config{Store: open(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer inst.Close()
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	other, err := reference.CreateTenant(ctx, inst.Store, "other", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	loader := inst.Store
	if !shared {
		loader = open()
		defer loader.Close()
	}
	district, err := reference.CreateTenant(ctx, loader, "district", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	src, err := Open(export)
	if err != nil {
		t.Fatal(err)
	}

	client := &http.Client{Timeout: 4 * servingBound}
	var once sync.Once
	var probed []string
	probe := func() {
		timed := func(what string, fn func() (int, []byte, error)) []byte {
			t0 := time.Now()
			code, body, err := fn()
			took := time.Since(t0)
			probed = append(probed, what)
			switch {
			case err != nil:
				t.Errorf("%s during the load: %v (after %v)", what, err, took)
			case code != http.StatusOK:
				t.Errorf("%s during the load: %d %s (after %v)", what, code, body, took)
			case took > servingBound:
				t.Errorf("%s during the load took %v, more than %v", what, took, servingBound)
			}
			return body
		}
		send := func(method, u, token, ctype string, body io.Reader) (int, []byte, error) {
			req, err := http.NewRequest(method, u, body)
			if err != nil {
				return 0, nil, err
			}
			if token != "" {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			if ctype != "" {
				req.Header.Set("Content-Type", ctype)
			}
			resp, err := client.Do(req)
			if err != nil {
				return 0, nil, err
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			return resp.StatusCode, b, err
		}
		form := url.Values{"grant_type": {"client_credentials"}, "client_id": {other.ClientID}, "client_secret": {other.ClientSecret}}
		var tok struct {
			AccessToken string `json:"access_token"`
		}
		_ = json.Unmarshal(timed("token request", func() (int, []byte, error) {
			return send(http.MethodPost, hs.URL+"/oauth/token", "", "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
		}), &tok)
		base := hs.URL + contract.BasePath
		leased := timed("lease", func() (int, []byte, error) { return send(http.MethodGet, base+"/tasks", tok.AccessToken, "", nil) })
		var tasks struct {
			Data []map[string]struct {
				ID string `json:"id"`
			} `json:"data"`
		}
		_ = json.Unmarshal(leased, &tasks)
		if len(tasks.Data) == 0 {
			t.Errorf("lease during the load answered no task: %s", leased)
		}
		for _, task := range tasks.Data {
			for _, p := range task {
				ack, _ := json.Marshal(map[string]string{"status": "success"})
				timed("ack", func() (int, []byte, error) {
					return send(http.MethodPut, base+"/tasks/"+p.ID+"/ack", tok.AccessToken, "application/json", bytes.NewReader(ack))
				})
			}
		}
		timed("readyz", func() (int, []byte, error) { return send(http.MethodGet, hs.URL+"/readyz", "", "", nil) })
	}
	res, err := Load(ctx, loader, district.TenantID, src, WithTempDir(t.TempDir()), WithProgress(func(p Progress) {
		if p.Phase == "apply" && p.File == FileUsers && p.Rows > 0 && !p.Done {
			once.Do(probe)
		}
	}))
	if err != nil {
		t.Fatal(err)
	}
	if len(probed) == 0 {
		t.Fatal("the load never reported writing its users: nothing was probed")
	}
	if res.Sync.Added == 0 || res.Sync.Added < rows/2 {
		t.Errorf("load added %d objects from %d rows", res.Sync.Added, rows)
	}
	if t.Failed() {
		fmt.Fprintln(os.Stderr, "probed:", probed)
	}
}
