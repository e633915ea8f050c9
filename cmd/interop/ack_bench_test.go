package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/interop-data/interop/internal/peakrss"
	"github.com/interop-data/interop/pkg/reference"
	"github.com/interop-data/interop/pkg/reference/store"
	"github.com/interop-data/interop/pkg/reference/store/open"
	"github.com/interop-data/interop/pkg/server"
)

// BenchmarkServeLargestGroupAck measures what issue 9 bounds, the server's
// own CPU and memory for one request, on a real `interop serve` process
// (SQLite): the largest group acknowledgement its body limit admits (2 MiB
// by default), leased tasks acknowledged as errors with 4096-character
// messages. The server's CPU over each PUT is read from /proc (user + system
// ticks) and reported as server-cpu-ms; server-extra-MiB is its peak
// resident set (VmHWM) less its resident set before the first
// acknowledgement. limit=10MiB runs the same
// under `--body-limit` 10 MiB, the limit first chosen, for comparison.
func BenchmarkServeLargestGroupAck(b *testing.B) {
	if testing.Short() {
		b.Skip("starts a server process; skipped in short mode")
	}
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		b.Skip("needs /proc to read the server's CPU time")
	}
	for _, limit := range []int64{server.DefaultBodyLimit, 10 << 20} {
		for _, msg := range []struct{ name, char string }{{"ascii", "x"}, {"utf8", "é"}} {
			b.Run(fmt.Sprintf("limit=%dMiB/message=%s", limit>>20, msg.name), func(b *testing.B) {
				benchServeAck(b, limit, strings.Repeat(msg.char, 4096))
			})
		}
	}
}

func benchServeAck(b *testing.B, limit int64, message string) {
	ctx := context.Background()
	db := filepath.Join(b.TempDir(), "ack.db")
	st, err := open.Store(ctx, db)
	if err != nil {
		b.Fatal(err)
	}
	tn, err := reference.CreateTenant(ctx, st, "Bench", time.Now())
	if err != nil {
		b.Fatal(err)
	}
	per := len(`{"task_id":"00000000-0000-0000-0000-000000000000","status":"error","message":""},`) + len(message)
	n := min(2000, int(limit-2)/per)
	// Every task is queued before the server starts: a write by another
	// process makes SQLite drop the server's page cache, and that cost
	// belongs to the other writer's batch, not to each acknowledgement.
	if _, err := st.LeaseTasks(ctx, store.LeaseQuery{Tenants: []uuid.UUID{tn.TenantID}, Limit: 10, Now: time.Now(), Lease: time.Hour}); err != nil {
		b.Fatal(err) // TENANT_INSTALLED: out of the way
	}
	enqueueDataEvents(b, st, tn.TenantID, b.N*n)
	st.Close()
	r := startReplica(b, "127.0.0.1:0", db, time.Hour, "--body-limit", strconv.FormatInt(limit, 10))
	pid := r.cmd.Process.Pid
	tok := token(b, r.root+"/oauth/token", tn.ClientID, tn.ClientSecret)
	api := r.root + "/v2/interop/data"
	type item struct {
		TaskID  uuid.UUID `json:"task_id"`
		Status  string    `json:"status"`
		Message string    `json:"message"`
	}
	lease := func(want int) []uuid.UUID {
		var ids []uuid.UUID
		for len(ids) < want {
			var page struct {
				Data []map[string]struct {
					ID uuid.UUID `json:"id"`
				} `json:"data"`
			}
			if code := getJSON(b, fmt.Sprintf("%s/tasks?page_size=%d", api, want-len(ids)), tok, &page); code != http.StatusOK {
				b.Fatalf("GET /tasks = %d", code)
			}
			if len(page.Data) == 0 {
				b.Fatalf("leased %d of %d tasks", len(ids), want)
			}
			for _, w := range page.Data {
				for _, t := range w {
					ids = append(ids, t.ID)
				}
			}
		}
		return ids
	}
	rss0 := peakrss.ResidentOf(pid)
	var ticks int64
	var size int
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		ids := lease(n)
		items := make([]item, n)
		for i, id := range ids {
			items[i] = item{TaskID: id, Status: "error", Message: message}
		}
		body, _ := json.Marshal(items)
		size = len(body)
		req, _ := http.NewRequest(http.MethodPut, api+"/tasks/ack", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		settle(b, pid)
		b.StartTimer()
		before := procTicks(b, pid)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		answer, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		ticks += procTicks(b, pid) - before
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("PUT /tasks/ack (%d bytes) = %d %.300s", len(body), resp.StatusCode, answer)
		}
	}
	b.StopTimer()
	// Linux counts process CPU in USER_HZ ticks, 100 per second.
	b.ReportMetric(float64(ticks)*10/float64(b.N), "server-cpu-ms")
	b.ReportMetric(float64(peakrss.PeakOf(pid)-rss0)/(1<<20), "server-extra-MiB")
	b.ReportMetric(float64(size)/(1<<20), "body-MiB")
	b.ReportMetric(float64(n), "items")
}

// settle waits until the server has been idle for 100 ms, so that the
// garbage collection and the page returns that the leasing left behind are
// not counted to the acknowledgement.
func settle(tb testing.TB, pid int) {
	last := procTicks(tb, pid)
	for range 50 {
		time.Sleep(100 * time.Millisecond)
		now := procTicks(tb, pid)
		if now == last {
			return
		}
		last = now
	}
}

// procTicks is a process's user + system CPU time in clock ticks.
func procTicks(tb testing.TB, pid int) int64 {
	tb.Helper()
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		tb.Fatal(err)
	}
	// The command name (field 2) may hold spaces; the fields after it are
	// plain. utime and stime are fields 14 and 15.
	f := strings.Fields(string(raw[bytes.LastIndexByte(raw, ')')+1:]))
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return u + s
}
