package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/interop-data/interop/internal/syncbuf"
	"github.com/interop-data/interop/pkg/reference"
	"github.com/interop-data/interop/pkg/reference/referencetest"
	"github.com/interop-data/interop/pkg/reference/store"
	"github.com/interop-data/interop/pkg/reference/store/open"
	"github.com/interop-data/interop/pkg/reference/store/postgres/pgtest"
)

// replica is one `interop serve` process.
type replica struct {
	addr string // host:port, kept across a restart
	root string // http://host:port
	cmd  *exec.Cmd
	log  *syncbuf.Buffer
}

// startReplica runs `interop serve` on addr ("127.0.0.1:0" for any port) as
// a process of its own, and waits until it listens.
func startReplica(t testing.TB, addr, db string, lease time.Duration, extra ...string) *replica {
	t.Helper()
	r := &replica{log: &syncbuf.Buffer{}}
	r.cmd = exec.Command(os.Args[0], append([]string{"serve", "--addr", addr, "--db", db, "--task-lease", lease.String(), "--batch-size", "2000"}, extra...)...)
	r.cmd.Env = append(os.Environ(), runMainEnv+"=1")
	r.cmd.Stderr = r.log
	out, err := r.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.kill)
	listening := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "token URL: "); ok {
				listening <- strings.TrimSuffix(rest, "/oauth/token")
			}
		}
	}()
	select {
	case root := <-listening:
		r.root = root
		r.addr = strings.TrimPrefix(root, "http://")
	case <-time.After(30 * time.Second):
		t.Fatalf("replica on %s did not start:\n%s", addr, r.log.String())
	}
	return r
}

// kill ends the process at once (SIGKILL: no shutdown, no cleanup).
func (r *replica) kill() {
	if r.cmd.ProcessState == nil {
		_ = r.cmd.Process.Kill()
		_ = r.cmd.Wait()
	}
}

type delivery struct {
	sent, received time.Time
}

// ledger records what every consumer saw.
type ledger struct {
	mu         sync.Mutex
	deliveries map[uuid.UUID][]delivery
	acked      map[uuid.UUID]time.Time // when the first successful ack answered
	ackedN     atomic.Int64
}

// Three replicas on one PostgreSQL database, twenty consumers spread across
// them, ten thousand tasks, one replica killed (SIGKILL) mid-run and
// restarted: no task goes to two consumers within a lease, no acknowledged
// task comes back, none is lost. Then the conformance suite passes against
// every replica.
func TestReplicasShareOneDatabase(t *testing.T) {
	db := pgtest.Schema(t)
	const (
		total     = 10_000
		consumers = 20
		lease     = 4 * time.Second
		batch     = 25
	)
	ctx := t.Context()
	st, err := open.Store(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	loadTenant, err := reference.CreateTenant(ctx, st, "Queue", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	enqueued := map[uuid.UUID]bool{}
	for _, task := range enqueueDataEvents(t, st, loadTenant.TenantID, total) {
		enqueued[task.ID] = true
	}
	// TENANT_INSTALLED is in the queue too.
	if ts, _, err := st.ListTasks(ctx, store.TaskQuery{Tenants: []uuid.UUID{loadTenant.TenantID}, Limit: 1}); err != nil || len(ts) != 1 {
		t.Fatal(ts, err)
	} else {
		enqueued[ts[0].ID] = true
	}

	replicas := make([]*replica, 3)
	for i := range replicas {
		replicas[i] = startReplica(t, "127.0.0.1:0", db, lease)
	}
	// A restarted replica comes back on its address, so the consumers'
	// view of the replicas is fixed: the roots, not the processes.
	roots := make([]string, len(replicas))
	for i, r := range replicas {
		roots[i] = r.root
	}
	hc := &http.Client{Timeout: 10 * time.Second}
	// call sends a request to the consumer's home replica, and to the next
	// one when a replica does not answer (killed, restarting).
	call := func(home int, method, path, token string, body any, out any) (int, error) {
		var last error
		for i := range len(roots) {
			root := roots[(home+i)%len(roots)]
			var rd io.Reader
			ct := "application/json"
			switch b := body.(type) {
			case nil:
			case url.Values:
				rd, ct = strings.NewReader(b.Encode()), "application/x-www-form-urlencoded"
			default:
				j, _ := json.Marshal(b)
				rd = bytes.NewReader(j)
			}
			req, _ := http.NewRequestWithContext(ctx, method, root+path, rd)
			if rd != nil {
				req.Header.Set("Content-Type", ct)
			}
			if token != "" {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			resp, err := hc.Do(req)
			if err != nil {
				last = err
				continue
			}
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				last = err
				continue
			}
			if resp.StatusCode != http.StatusOK {
				return resp.StatusCode, fmt.Errorf("%s %s on %s = %d: %s", method, path, root, resp.StatusCode, b)
			}
			return resp.StatusCode, json.Unmarshal(b, out)
		}
		return 0, last
	}

	led := &ledger{deliveries: map[uuid.UUID][]delivery{}, acked: map[uuid.UUID]time.Time{}}
	deadline := time.Now().Add(60 * time.Second)
	var wg sync.WaitGroup
	errs := make(chan error, consumers)
	for c := range consumers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			home := c % len(roots)
			var tok struct {
				AccessToken string `json:"access_token"`
			}
			// A token from the home replica is used on every replica.
			if _, err := call(home, http.MethodPost, "/oauth/token", "", url.Values{"grant_type": {"client_credentials"},
				"client_id": {loadTenant.ClientID}, "client_secret": {loadTenant.ClientSecret}}, &tok); err != nil {
				errs <- err
				return
			}
			for led.ackedN.Load() < int64(len(enqueued)) {
				if time.Now().After(deadline) {
					errs <- fmt.Errorf("consumer %d: %d of %d tasks acknowledged at the deadline", c, led.ackedN.Load(), len(enqueued))
					return
				}
				var page struct {
					Data []map[string]struct {
						ID uuid.UUID `json:"id"`
					} `json:"data"`
				}
				sent := time.Now()
				if _, err := call(home, http.MethodGet, fmt.Sprintf("/v2/interop/data/tasks?page_size=%d", batch), tok.AccessToken, nil, &page); err != nil {
					if isDown(err) {
						time.Sleep(50 * time.Millisecond)
						continue
					}
					errs <- err
					return
				}
				received := time.Now()
				if len(page.Data) == 0 {
					time.Sleep(50 * time.Millisecond)
					continue
				}
				var acks []map[string]any
				led.mu.Lock()
				for _, w := range page.Data {
					for _, task := range w {
						led.deliveries[task.ID] = append(led.deliveries[task.ID], delivery{sent, received})
						acks = append(acks, map[string]any{"task_id": task.ID, "status": "success"})
					}
				}
				led.mu.Unlock()
				// The acknowledgement goes through whichever replica
				// answers, until one does.
				for {
					var receipts struct {
						Data []struct {
							TaskID uuid.UUID `json:"task_id"`
						} `json:"data"`
					}
					_, err := call(home, http.MethodPut, "/v2/interop/data/tasks/ack", tok.AccessToken, acks, &receipts)
					if err == nil {
						at := time.Now()
						led.mu.Lock()
						for _, r := range receipts.Data {
							if _, ok := led.acked[r.TaskID]; !ok {
								led.acked[r.TaskID] = at
								led.ackedN.Add(1)
							}
						}
						led.mu.Unlock()
						break
					}
					if !isDown(err) || time.Now().After(deadline) {
						errs <- err
						return
					}
					time.Sleep(50 * time.Millisecond)
				}
			}
		}()
	}

	// Kill the third replica once a third of the queue is done, and
	// restart it on its address a moment later.
	var killedAt, restartedAt time.Duration
	start := time.Now()
	for led.ackedN.Load() < int64(len(enqueued))/3 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	replicas[2].kill()
	killedAt = time.Since(start)
	time.Sleep(500 * time.Millisecond)
	replicas[2] = startReplica(t, replicas[2].addr, db, lease)
	restartedAt = time.Since(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	elapsed := time.Since(start)

	led.mu.Lock()
	defer led.mu.Unlock()
	redelivered := 0
	for id := range enqueued {
		ds := led.deliveries[id]
		ackedAt, ok := led.acked[id]
		if !ok {
			t.Errorf("task %s lost: never acknowledged (%d deliveries)", id, len(ds))
			continue
		}
		for i, d := range ds {
			if d.sent.After(ackedAt) {
				t.Errorf("task %s delivered again (asked at %v) after its acknowledgement answered (%v)", id, d.sent.Sub(start), ackedAt.Sub(start))
			}
			for _, e := range ds[i+1:] {
				first, second := d, e
				if e.sent.Before(d.sent) {
					first, second = e, d
				}
				// The first lease began after first.sent; a second delivery
				// answered before first.sent+lease was leased within it.
				if second.received.Before(first.sent.Add(lease)) {
					t.Errorf("task %s delivered twice within one lease: asked at %v and %v", id, first.sent.Sub(start), second.sent.Sub(start))
				}
			}
		}
		if len(ds) > 1 {
			redelivered++
		}
	}
	for id := range led.acked {
		if !enqueued[id] {
			t.Errorf("acknowledged a task never enqueued: %s", id)
		}
	}
	if left, _, err := st.ListTasks(ctx, store.TaskQuery{Tenants: []uuid.UUID{loadTenant.TenantID}, Limit: 10}); err != nil || len(left) != 0 {
		t.Errorf("queue after the run: %d tasks, %v", len(left), err)
	}
	t.Logf("%d tasks, %d consumers on 3 replicas: %v (replica 3 killed at %v, back at %v); %d tasks delivered more than once (leases lost with the killed replica's answers)",
		len(enqueued), consumers, elapsed.Round(time.Millisecond), killedAt.Round(time.Millisecond), restartedAt.Round(time.Millisecond), redelivered)
	if t.Failed() {
		return
	}

	// Conformance against every replica, each time on freshly reset
	// tenants: they share the database, so each run finds what it needs.
	tenants := make([]reference.TenantCredentials, 2)
	rosters := make([]reference.Roster, 2)
	for i := range tenants {
		size := referencetest.SmallDistrict
		size.Seed = uint64(i + 1)
		rosters[i] = reference.Demo(size)
		if tenants[i], err = reference.CreateTenant(ctx, st, fmt.Sprint("Conformance ", i), time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	for i, r := range replicas {
		for j, tn := range tenants {
			if err := st.ResetTenant(ctx, tn.TenantID); err != nil {
				t.Fatal(err)
			}
			if _, err := reference.Load(ctx, st, tn.TenantID, rosters[j], time.Now()); err != nil {
				t.Fatal(err)
			}
		}
		args := []string{"conformance", "--base-url", r.root + "/v2/interop/data",
			"--client-id", tenants[0].ClientID, "--client-secret", tenants[0].ClientSecret,
			"--client-id-2", tenants[1].ClientID, "--client-secret-2", tenants[1].ClientSecret}
		var out, errOut bytes.Buffer
		if got := run(ctx, args, &out, &errOut); got != 0 {
			t.Fatalf("conformance against replica %d: exit status %d\n%s\n%s\nreplica log:\n%s", i+1, got, out.String(), errOut.String(), r.log.String())
		}
	}
}

// isDown reports an error of a replica that does not answer.
// enqueueDataEvents puts n ADD events of one person (non-ASCII name) in the
// tenant's queue, in chunks of 2000, and returns the tasks.
func enqueueDataEvents(tb testing.TB, st store.Store, tenant uuid.UUID, n int) []store.Task {
	tb.Helper()
	person := store.Object{ID: uuid.New(), Kind: store.KindPerson, Subtype: store.SubtypeStudent, Label: "Zoë Núñez",
		Data: []byte(`{"$sys":{"id":"` + uuid.NewString() + `","type":"Person","person_type":"Student","label":"Zoë Núñez"},"name":{"first":"Zoë","last":"Núñez"},"email":"zoe@example.org","grad_year":"2032"}`)}
	group := uuid.New()
	var out []store.Task
	for left := n; left > 0; left -= 2000 {
		nts := make([]store.NewTask, min(left, 2000))
		for i := range nts {
			nts[i] = reference.DataTask(reference.ActionAdd, person, person.Data, nil, group, "")
		}
		ts, err := st.Enqueue(context.Background(), tenant, nts, time.Now())
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, ts...)
	}
	return out
}

func isDown(err error) bool {
	var ne net.Error
	var oe *net.OpError
	return errors.As(err, &oe) || errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, context.DeadlineExceeded)
}

// serve and tenant create take a postgres:// URL for --db, and the server
// prints it without its password.
func TestServeAndTenantCreateOnPostgres(t *testing.T) {
	db := pgtest.Schema(t)
	var created bytes.Buffer
	if err := runTenant(t.Context(), []string{"create", "--db", db, "--name", "Springfield"}, &created, io.Discard); err != nil {
		t.Fatalf("tenant create: %v", err)
	}
	var creds reference.TenantCredentials
	if err := json.Unmarshal(created.Bytes(), &creds); err != nil || creds.ClientSecret == "" {
		t.Fatalf("tenant create printed %q: %v", created.String(), err)
	}
	srv := startServe(t, "--db", db, "--demo")
	if !strings.Contains(srv.Out.String(), "serving postgres://") {
		t.Errorf("serve output does not name the database:\n%s", srv.Out.String())
	}
	var tasks struct{ Data []map[string]json.RawMessage }
	if code := getJSON(t, srv.Base+"/tasks", token(t, srv.TokenURL, creds.ClientID, creds.ClientSecret), &tasks); code != 200 || len(tasks.Data) != 1 || tasks.Data[0]["lifecycle_event"] == nil {
		t.Fatalf("the new tenant's tasks: %d, %v", code, tasks.Data)
	}
	var persons struct{ Data []json.RawMessage }
	if code := getJSON(t, srv.Base+"/rostering/persons", token(t, srv.TokenURL, reference.DemoClientID, reference.DemoClientSecret), &persons); code != 200 || len(persons.Data) < 300 {
		t.Fatalf("demo persons: %d, %d", code, len(persons.Data))
	}
	resp, err := http.Get(strings.TrimSuffix(srv.TokenURL, "/oauth/token") + "/readyz")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("readyz: %v, %v", resp, err)
	}
	resp.Body.Close()
	if got := redactDSN("postgres://interop:s3cret@db:5432/interop"); strings.Contains(got, "s3cret") {
		t.Errorf("redactDSN kept the password: %s", got)
	}
}
