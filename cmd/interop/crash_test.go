package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	_ "modernc.org/sqlite" // integrity_check on the file between runs

	"github.com/interop-data/interop/pkg/contract"
)

// Crash safety, tested by the suite (issue 9): the real binary serves
// consumers and is killed with SIGKILL at random moments, six times, each
// time restarted on the same file. After each kill the file passes
// integrity_check; while it runs, no task acknowledged with a 200 (success
// or error) is ever delivered again; at the end every task that was
// delivered and not acknowledged with a 200 is delivered again once its
// lease ran out (unless its ack's answer was lost in the kill, in which
// case either is right), and no task has two outcomes: repeating its
// acknowledgement with the other outcome is a 409.
func TestCrashSafetyUnderKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and kills it six times (-short)")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to build the binary with")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "interop")
	build := exec.Command(goBin, "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	db := filepath.Join(dir, "crash.db")
	const lease = 3 * time.Second // longer than a round, so no task is leased twice within one
	h := &crashHarness{t: t, bin: bin, db: db, acked: map[string]string{}, unknown: map[string]bool{}, delivered: map[string]bool{}}

	const kills = 6
	for round := range kills {
		p := h.start()
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for range 3 {
			wg.Go(func() { h.consume(ctx, p.base, p.token) })
		}
		time.Sleep(time.Duration(150+rand.IntN(500)) * time.Millisecond)
		if err := p.cmd.Process.Kill(); err != nil { // SIGKILL: no shutdown, no checkpoint
			t.Fatal(err)
		}
		_ = p.cmd.Wait()
		cancel()
		wg.Wait()
		h.checkIntegrity(round)
	}
	if len(h.acked) == 0 {
		t.Fatal("no acknowledgement got a 200 in any round: the test proved nothing")
	}

	// The last run: wait out every lease, then drain the queue.
	p := h.start()
	defer func() { _ = p.cmd.Process.Kill(); _ = p.cmd.Wait() }()
	time.Sleep(lease + 200*time.Millisecond)
	redelivered := map[string]bool{}
	for {
		ids := h.lease(p.base, p.token, 500)
		if len(ids) == 0 {
			break
		}
		var group []map[string]string
		for _, id := range ids {
			if st, ok := h.acked[id]; ok {
				t.Errorf("task %s acknowledged %s with a 200 was delivered again after restarts", id, st)
			}
			redelivered[id] = true
			group = append(group, map[string]string{"task_id": id, "status": "success"})
		}
		if code, body := h.put(p.base+"/tasks/ack", p.token, group); code != 200 {
			t.Fatalf("final group ack: %d %s", code, body)
		}
		for _, id := range ids {
			h.acked[id] = "success"
		}
	}
	for id := range h.delivered {
		if _, done := h.acked[id]; !done && !h.unknown[id] && !redelivered[id] {
			t.Errorf("task %s was delivered, never acknowledged, and not delivered again after its lease", id)
		}
	}
	// One outcome each: the other outcome is refused, the same one repeated
	// gets the first receipt.
	n := 0
	for id, st := range h.acked {
		if n++; n > 200 {
			break // a sample keeps the test short; every ack above was checked for redelivery
		}
		other := map[string]string{"success": "error", "error": "success"}[st]
		if code, body := h.put(p.base+"/tasks/"+id+"/ack", p.token, map[string]string{"status": other}); code != http.StatusConflict {
			t.Errorf("task %s acknowledged %s: acknowledging it %s answered %d %s, want 409", id, st, other, code, body)
		}
		if code, body := h.put(p.base+"/tasks/"+id+"/ack", p.token, map[string]string{"status": st}); code != 200 {
			t.Errorf("task %s: repeating its %s ack answered %d %s", id, st, code, body)
		}
	}
	t.Logf("%d kills; %d tasks delivered, %d acknowledged with a 200 before the end, %d with the answer lost, %d drained at the end",
		kills, len(h.delivered), len(h.acked)-len(redelivered), len(h.unknown), len(redelivered))
}

type crashHarness struct {
	t       *testing.T
	bin, db string

	mu        sync.Mutex
	acked     map[string]string // task id -> terminal outcome acknowledged with a 200
	unknown   map[string]bool   // acks whose answer was lost in a kill
	delivered map[string]bool   // every task GET /tasks returned
}

type crashProc struct {
	cmd         *exec.Cmd
	base, token string
}

var crashBaseRE = regexp.MustCompile(`base URL:\s+(\S+)`)

// start runs the binary on the harness's file and waits for its base URL.
func (h *crashHarness) start() *crashProc {
	h.t.Helper()
	var out syncBuffer
	cmd := exec.Command(h.bin, "serve", "--addr", "127.0.0.1:0", "--db", h.db, "--demo", "--task-lease", "3s", "--batch-size", "20")
	cmd.Stdout, cmd.Stderr = &out, io.Discard
	if err := cmd.Start(); err != nil {
		h.t.Fatal(err)
	}
	p := &crashProc{cmd: cmd}
	for deadline := time.Now().Add(30 * time.Second); p.base == ""; time.Sleep(20 * time.Millisecond) {
		if m := crashBaseRE.FindStringSubmatch(out.String()); m != nil {
			p.base = m[1]
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			h.t.Fatalf("the binary printed no base URL:\n%s", out.String())
		}
	}
	p.token = token(h.t, strings.TrimSuffix(p.base, contract.BasePath)+"/oauth/token", "demo", "demo-secret")
	return p
}

// consume leases and acknowledges until ctx ends or the server dies,
// recording what happened to each task.
func (h *crashHarness) consume(ctx context.Context, base, tok string) {
	for ctx.Err() == nil {
		ids, err := h.tryLease(base, tok, 5)
		if err != nil {
			return // killed
		}
		for _, id := range ids {
			status := []string{"success", "error", "retry"}[rand.IntN(3)]
			code, _, err := h.tryPut(base+"/tasks/"+id+"/ack", tok, map[string]string{"status": status})
			h.mu.Lock()
			switch {
			case err != nil:
				h.unknown[id] = true // the kill may have come before or after the commit
			case code == 200 && status != "retry":
				h.acked[id] = status
			case code != 200:
				h.t.Errorf("ack %s of task %s: %d", status, id, code)
			}
			h.mu.Unlock()
			if err != nil {
				return
			}
		}
	}
}

func (h *crashHarness) tryLease(base, tok string, n int) ([]string, error) {
	req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("%s/tasks?schema=3.0.0&page_size=%d", base, n), nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var page struct{ Data []struct{ ID string } }
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil {
		return nil, err
	}
	if resp.StatusCode != 200 {
		return nil, fmt.Errorf("GET /tasks: %d", resp.StatusCode)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	var ids []string
	for _, task := range page.Data {
		if st, ok := h.acked[task.ID]; ok {
			h.t.Errorf("task %s acknowledged %s with a 200 was delivered again", task.ID, st)
		}
		h.delivered[task.ID] = true
		ids = append(ids, task.ID)
	}
	return ids, nil
}

func (h *crashHarness) lease(base, tok string, n int) []string {
	h.t.Helper()
	ids, err := h.tryLease(base, tok, n)
	if err != nil {
		h.t.Fatal(err)
	}
	return ids
}

func (h *crashHarness) tryPut(url, tok string, body any) (int, string, error) {
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPut, url, bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	rb, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(rb), err
}

func (h *crashHarness) put(url, tok string, body any) (int, string) {
	h.t.Helper()
	code, rb, err := h.tryPut(url, tok, body)
	if err != nil {
		h.t.Fatal(err)
	}
	return code, rb
}

// checkIntegrity opens the file the killed server left (its WAL included)
// and runs SQLite's integrity_check.
func (h *crashHarness) checkIntegrity(round int) {
	h.t.Helper()
	if _, err := os.Stat(h.db); err != nil {
		h.t.Fatal(err)
	}
	d, err := sql.Open("sqlite", h.db)
	if err != nil {
		h.t.Fatal(err)
	}
	defer d.Close()
	var res string
	if err := d.QueryRow("PRAGMA integrity_check").Scan(&res); err != nil || res != "ok" {
		h.t.Fatalf("after kill %d: integrity_check = %q, %v", round+1, res, err)
	}
}
