package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/interop-data/interop/pkg/reference"
	"github.com/interop-data/interop/pkg/reference/store"
	"github.com/interop-data/interop/pkg/reference/store/open"
	"github.com/interop-data/interop/pkg/reference/store/postgres/pgtest"
)

// BenchmarkQueue drains a queue of b.N data events with four consumers,
// each leasing 100 tasks and acknowledging them in one group, on SQLite and
// on PostgreSQL, through 1, 2 and 4 replicas:
//
//   - path=store: the consumers call the store's LeaseTasks and AckTasks
//     directly (the same SQL the server issues, without HTTP), one store
//     handle per "replica": the baseline;
//   - path=http: the same through `interop serve` processes (OAuth2 token,
//     request validation, rendering, response validation as configured),
//     the consumers spread over the replicas.
//
// One iteration is one task; tasks/s is the throughput. Run with a fixed
// count, e.g. -benchtime 20000x: every run starts its own processes.
func BenchmarkQueue(b *testing.B) {
	if testing.Short() {
		b.Skip("the queue benchmarks start server processes; skipped in short mode")
	}
	dbs := map[string]func(b *testing.B) string{
		"sqlite":   func(b *testing.B) string { return filepath.Join(b.TempDir(), "queue.db") },
		"postgres": func(b *testing.B) string { return pgtest.Schema(b) },
	}
	for _, name := range []string{"sqlite", "postgres"} {
		for _, replicas := range []int{1, 2, 4} {
			for _, path := range []string{"store", "http", "http-novalidate"} {
				b.Run(fmt.Sprintf("store=%s/replicas=%d/path=%s", name, replicas, path), func(b *testing.B) {
					benchQueue(b, dbs[name](b), replicas, path)
				})
			}
		}
	}
}

const benchConsumers, benchBatch = 4, 100

func benchQueue(b *testing.B, db string, replicas int, path string) {
	ctx := context.Background()
	st, err := open.Store(ctx, db)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	tn, err := reference.CreateTenant(ctx, st, "Bench", time.Now())
	if err != nil {
		b.Fatal(err)
	}
	enqueueDataEvents(b, st, tn.TenantID, b.N)
	total := int64(b.N + 1) // and TENANT_INSTALLED
	var done atomic.Int64
	var consume func(c int) error
	switch path {
	case "store":
		handles := []store.Store{st}
		for range replicas - 1 {
			h, err := open.Store(ctx, db)
			if err != nil {
				b.Fatal(err)
			}
			defer h.Close()
			handles = append(handles, h)
		}
		scope := []uuid.UUID{tn.TenantID}
		consume = func(c int) error {
			h := handles[c%len(handles)]
			for done.Load() < total {
				ts, err := h.LeaseTasks(ctx, store.LeaseQuery{Tenants: scope, Limit: benchBatch, Now: time.Now(), Lease: time.Minute})
				if err != nil {
					return err
				}
				if len(ts) == 0 {
					time.Sleep(time.Millisecond)
					continue
				}
				acks := make([]store.Ack, len(ts))
				for i, t := range ts {
					acks[i] = store.Ack{TaskID: t.ID, Status: store.AckSuccess}
				}
				if _, err := h.AckTasks(ctx, scope, acks, time.Now()); err != nil {
					return err
				}
				done.Add(int64(len(ts)))
			}
			return nil
		}
	default:
		var extra []string
		if path == "http-novalidate" {
			extra = []string{"--response-validation", "off"}
		}
		roots := make([]string, replicas)
		for i := range roots {
			roots[i] = startReplica(b, "127.0.0.1:0", db, time.Minute, extra...).root
		}
		consume = func(c int) error {
			root := roots[c%len(roots)]
			hc := &http.Client{}
			form := url.Values{"grant_type": {"client_credentials"}, "client_id": {tn.ClientID}, "client_secret": {tn.ClientSecret}}
			resp, err := hc.Post(root+"/oauth/token", "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
			if err != nil {
				return err
			}
			var tok struct {
				AccessToken string `json:"access_token"`
			}
			err = json.NewDecoder(resp.Body).Decode(&tok)
			resp.Body.Close()
			if err != nil {
				return err
			}
			do := func(method, u string, body []byte, v any) error {
				req, _ := http.NewRequest(method, u, bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
				if body != nil {
					req.Header.Set("Content-Type", "application/json")
				}
				resp, err := hc.Do(req)
				if err != nil {
					return err
				}
				defer resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					msg, _ := io.ReadAll(resp.Body)
					return fmt.Errorf("%s %s = %d: %s", method, u, resp.StatusCode, msg)
				}
				return json.NewDecoder(resp.Body).Decode(v)
			}
			for done.Load() < total {
				var page struct {
					Data []map[string]struct {
						ID uuid.UUID `json:"id"`
					} `json:"data"`
				}
				if err := do(http.MethodGet, fmt.Sprintf("%s/v2/interop/data/tasks?page_size=%d", root, benchBatch), nil, &page); err != nil {
					return err
				}
				if len(page.Data) == 0 {
					time.Sleep(time.Millisecond)
					continue
				}
				acks := make([]map[string]any, 0, len(page.Data))
				for _, w := range page.Data {
					for _, t := range w {
						acks = append(acks, map[string]any{"task_id": t.ID, "status": "success"})
					}
				}
				body, _ := json.Marshal(acks)
				var receipts struct{ Data []json.RawMessage }
				if err := do(http.MethodPut, root+"/v2/interop/data/tasks/ack", body, &receipts); err != nil {
					return err
				}
				done.Add(int64(len(acks)))
			}
			return nil
		}
	}
	b.ResetTimer()
	var wg sync.WaitGroup
	errs := make(chan error, benchConsumers)
	for c := range benchConsumers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := consume(c); err != nil {
				errs <- err
				done.Store(total) // stop the others
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tasks/s")
}
