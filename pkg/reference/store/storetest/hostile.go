package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/interop-data/interop/pkg/reference/store"
	"github.com/interop-data/interop/pkg/server/auth"
)

// Option configures Run.
type Option func(*config)

type config struct {
	database func(t *testing.T) Open
}

// WithReplicas gives the suite stores that share one database, as replicas
// of a server do: database makes a fresh, empty database and returns an Open
// whose every store is on it. The cases about several processes (Secret
// made at once, leases and acknowledgements across stores) use it; without
// it they run on the goroutines of one store.
func WithReplicas(database func(t *testing.T) Open) Option {
	return func(c *config) { c.database = database }
}

// replicas opens n stores on one fresh database (or, without WithReplicas,
// returns one store n times); the suite closes them.
func replicas(t *testing.T, open Open, cfg config, n int) []store.Store {
	t.Helper()
	out := make([]store.Store, n)
	if cfg.database == nil {
		s := open(t)
		t.Cleanup(func() { s.Close() })
		for i := range out {
			out[i] = s
		}
		return out
	}
	db := cfg.database(t)
	for i := range out {
		s := db(t)
		t.Cleanup(func() { s.Close() })
		out[i] = s
	}
	return out
}

func runReplicas(t *testing.T, open Open, cfg config) {
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, open Open, cfg config)
	}{
		{"SecretMadeAtOnce", testSecretAtOnce},
		{"LeaseAndAckAcrossStores", testLeaseAckAcross},
		{"TokenQuotaAcrossStores", testTokenQuotaAcrossStores},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open, cfg)
		})
	}
}

// testSecretAtOnce: stores asking for a secret that does not exist yet, all
// at once, all get it, and the same one.
func testSecretAtOnce(t *testing.T, open Open, cfg config) {
	const n, rounds = 8, 10
	stores := replicas(t, open, cfg, n)
	for round := range rounds {
		name := fmt.Sprint("race-", round)
		got := make([][]byte, n)
		errs := make([]error, n)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i, s := range stores {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				got[i], errs[i] = s.Secret(ctx(), name)
			}()
		}
		close(start)
		wg.Wait()
		for i := range n {
			if errs[i] != nil {
				t.Fatalf("round %d: store %d: Secret: %v", round, i, errs[i])
			}
			if len(got[i]) != 32 || string(got[i]) != string(got[0]) {
				t.Fatalf("round %d: store %d got %x, store 0 got %x", round, i, got[i], got[0])
			}
		}
	}
}

// testLeaseAckAcross: consumers on several stores lease and acknowledge one
// queue in parallel. Within one lease no task is handed out twice, every
// task is acknowledged once, and the history holds one outcome per task.
func testLeaseAckAcross(t *testing.T, open Open, cfg config) {
	const nStores, perStore, tasks = 3, 4, 300
	stores := replicas(t, open, cfg, nStores)
	tn := NewTenant(t, stores[0], "across")
	mustEnqueue(t, stores[0], tn.ID, tasks-1) // with TENANT_INSTALLED: tasks
	var mu sync.Mutex
	seen := map[uuid.UUID]int{}
	errs := make(chan error, nStores*perStore)
	var wg sync.WaitGroup
	for _, s := range stores {
		for w := range perStore {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					ts, err := s.LeaseTasks(ctx(), store.LeaseQuery{Tenants: []uuid.UUID{tn.ID}, Limit: 5 + w, Now: t0, Lease: time.Hour})
					if err != nil {
						errs <- fmt.Errorf("lease: %w", err)
						return
					}
					if len(ts) == 0 {
						return
					}
					acks := make([]store.Ack, len(ts))
					mu.Lock()
					for i, task := range ts {
						seen[task.ID]++
						acks[i] = store.Ack{TaskID: task.ID, Status: store.AckSuccess, Message: fmt.Sprint("worker ", w)}
					}
					mu.Unlock()
					if _, err := s.AckTasks(ctx(), []uuid.UUID{tn.ID}, acks, t0.Add(time.Second)); err != nil {
						errs <- fmt.Errorf("ack: %w", err)
						return
					}
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if len(seen) != tasks {
		t.Fatalf("leased %d distinct tasks, want %d", len(seen), tasks)
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("task %s handed out %d times within one lease", id, n)
		}
	}
	if left := allTasks(t, stores[nStores-1], tn.ID); len(left) != 0 {
		t.Fatalf("%d tasks left in the queue after every one was acknowledged", len(left))
	}
	h, err := stores[1].History(ctx(), tn.ID)
	if err != nil {
		t.Fatal(err)
	}
	per := map[uuid.UUID]int{}
	for _, e := range h {
		per[e.TaskID]++
	}
	if len(h) != tasks || len(per) != tasks {
		t.Fatalf("history: %d entries for %d tasks, want %d of each", len(h), len(per), tasks)
	}
}

// errPanic is what testSyncPanic's transaction panics with.
var errPanic = errors.New("storetest: panic inside Sync")

// testSyncPanic: a panic inside Sync's function goes on up to the caller,
// undoes what the transaction did, and leaves the store writable: syncs,
// tokens, acknowledgements and Ping all work after it.
func testSyncPanic(t *testing.T, s store.Store) {
	tn := NewTenant(t, s, "panic")
	lost := Person(store.SubtypeStudent, "Lost")
	func() {
		defer func() {
			if r := recover(); r != errPanic {
				t.Fatalf("Sync's panic reached the caller as %v, want %v", r, errPanic)
			}
		}()
		_ = s.Sync(ctx(), tn.ID, func(tx store.SyncTx) error {
			if _, err := tx.Put(ctx(), lost); err != nil {
				return err
			}
			panic(errPanic)
		})
	}()
	// The same after a staged and applied (on SQLite: planned) object.
	staged := Person(store.SubtypeStudent, "Staged")
	func() {
		defer func() {
			if r := recover(); r != errPanic {
				t.Fatalf("Sync's panic after Apply reached the caller as %v, want %v", r, errPanic)
			}
		}()
		_ = s.Sync(ctx(), tn.ID, func(tx store.SyncTx) error {
			if err := tx.Stage(ctx(), []store.Object{staged}); err != nil {
				return err
			}
			if _, err := tx.Apply(ctx(), func([]store.Change) error { return nil }); err != nil {
				return err
			}
			panic(errPanic)
		})
	}()
	// Bounded: a writer left inside the transaction makes these wait, not fail.
	c, cancel := context.WithTimeout(ctx(), 10*time.Second)
	defer cancel()
	if err := s.Ping(c); err != nil {
		t.Fatalf("Ping after a panic in Sync: %v", err)
	}
	kept := Person(store.SubtypeStudent, "Kept")
	if err := s.Sync(c, tn.ID, func(tx store.SyncTx) error {
		_, err := tx.Put(c, kept)
		return err
	}); err != nil {
		t.Fatalf("Sync after a panic in Sync: %v", err)
	}
	for _, o := range []store.Object{lost, staged} {
		if _, err := s.FindObject(c, []uuid.UUID{tn.ID}, store.KindPerson, o.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("the panicked sync's object %s: %v, want ErrNotFound", o.Label, err)
		}
	}
	if _, err := s.FindObject(c, []uuid.UUID{tn.ID}, store.KindPerson, kept.ID); err != nil {
		t.Fatalf("the next sync's object: %v", err)
	}
	p := auth.Principal{TenantIDs: []uuid.UUID{tn.ID}, ClientID: tn.ClientID, Subject: tn.ClientID, Method: auth.MethodOAuth2}
	if err := s.SaveToken(c, "after-panic", p, t0.Add(time.Hour)); err != nil {
		t.Fatalf("SaveToken after a panic in Sync: %v", err)
	}
	ts := lease(t, s, tn.ID, 1, t0)
	if _, err := s.AckTasks(c, []uuid.UUID{tn.ID}, []store.Ack{{TaskID: ts[0].ID, Status: store.AckSuccess}}, t0); err != nil {
		t.Fatalf("AckTasks after a panic in Sync: %v", err)
	}
}

// testAckDuplicate: a batch naming a task twice is ErrInvalid, whatever the
// outcomes, and acknowledges nothing: one task never gets two outcomes.
func testAckDuplicate(t *testing.T, s store.Store) {
	tn := NewTenant(t, s, "dup")
	ts := mustEnqueue(t, s, tn.ID, 2)
	scope := []uuid.UUID{tn.ID}
	for _, batch := range [][]store.Ack{
		{{TaskID: ts[0].ID, Status: store.AckSuccess}, {TaskID: ts[0].ID, Status: store.AckError, Message: "second"}},
		{{TaskID: ts[0].ID, Status: store.AckSuccess}, {TaskID: ts[1].ID, Status: store.AckSuccess}, {TaskID: ts[0].ID, Status: store.AckSuccess}},
		{{TaskID: ts[1].ID, Status: store.AckRetry}, {TaskID: ts[1].ID, Status: store.AckReauthenticate}},
	} {
		if rs, err := s.AckTasks(ctx(), scope, batch, t0); !errors.Is(err, store.ErrInvalid) {
			t.Fatalf("AckTasks(%d acks naming a task twice) = %v, %v; want ErrInvalid", len(batch), rs, err)
		}
	}
	if h, err := s.History(ctx(), tn.ID); err != nil || len(h) != 0 {
		t.Fatalf("history after refused batches: %d entries, %v; want none", len(h), err)
	}
	for _, task := range ts {
		if _, err := s.FindTask(ctx(), scope, task.ID); err != nil {
			t.Fatalf("task %s after refused batches: %v; want it still queued", task.ID, err)
		}
	}
	// Once acknowledged, naming it again in a later batch is the ordinary
	// replay: the first receipt, not an error.
	first, err := s.AckTasks(ctx(), scope, []store.Ack{{TaskID: ts[0].ID, Status: store.AckSuccess}}, t0)
	if err != nil {
		t.Fatal(err)
	}
	again, err := s.AckTasks(ctx(), scope, []store.Ack{{TaskID: ts[0].ID, Status: store.AckSuccess}, {TaskID: ts[1].ID, Status: store.AckError}}, t0.Add(time.Minute))
	if err != nil || !again[0].AcknowledgedAt.Equal(first[0].AcknowledgedAt) {
		t.Fatalf("replay beside a new ack = %+v, %v", again, err)
	}
}

// Strings no store can index alike: U+0000, and bytes that are not UTF-8.
var badStrings = []struct{ name, s string }{
	{"NUL", "a\x00b"},
	{"lone NUL", "\x00"},
	{"invalid UTF-8", "a\xffb"},
	{"truncated UTF-8", "caf\xc3"},
}

// testStrings: every string a store keeps or looks up by, given U+0000 or
// bytes that are not UTF-8, gets the same answer from every store (the rule
// of store.CheckText): names and keys are ErrInvalid on write and find
// nothing on lookup; messages and app ids keep U+0000 exactly and refuse
// invalid UTF-8. Never a database error, never a half-done write.
func testStrings(t *testing.T, s store.Store) {
	tn := NewTenant(t, s, "strings")
	scope := []uuid.UUID{tn.ID}
	for _, bad := range badStrings {
		t.Run(bad.name, func(t *testing.T) {
			// Writes of names and keys: ErrInvalid, nothing written.
			for _, tt := range []store.Tenant{
				{ID: uuid.New(), Name: bad.s, ClientID: "c-" + uuid.NewString(), SecretHash: "h"},
				{ID: uuid.New(), Name: "n", ClientID: bad.s, SecretHash: "h"},
				{ID: uuid.New(), Name: "n", ClientID: "c-" + uuid.NewString(), SecretHash: bad.s},
			} {
				if _, err := s.CreateTenant(ctx(), tt, nil, t0); !errors.Is(err, store.ErrInvalid) {
					t.Errorf("CreateTenant(%+q) = %v, want ErrInvalid", tt, err)
				}
				if _, err := s.FindTenant(ctx(), tt.ID); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("refused tenant %+q: FindTenant = %v, want ErrNotFound", tt, err)
				}
			}
			for _, nt := range []store.NewTask{
				{Kind: store.TaskLifecycle, Driver: bad.s, Payload: []byte(`{"action":"X"}`)},
				{Kind: store.TaskKind(bad.s), Payload: []byte(`{"action":"X"}`)},
			} {
				if _, err := s.Enqueue(ctx(), tn.ID, []store.NewTask{Lifecycle("OK", ""), nt}, t0); !errors.Is(err, store.ErrInvalid) {
					t.Errorf("Enqueue(%+q) = %v, want ErrInvalid", nt, err)
				}
			}
			for _, o := range []store.Object{withLabel(Person(store.SubtypeStudent, "x"), bad.s), withSubtype(Person(store.SubtypeStudent, "x"), bad.s)} {
				err := s.Sync(ctx(), tn.ID, func(tx store.SyncTx) error {
					_, err := tx.Put(ctx(), o)
					return err
				})
				if !errors.Is(err, store.ErrInvalid) {
					t.Errorf("Put(label %+q, subtype %+q) = %v, want ErrInvalid", o.Label, o.Subtype, err)
				}
				err = s.Sync(ctx(), tn.ID, func(tx store.SyncTx) error {
					if err := tx.Stage(ctx(), []store.Object{o}); err != nil {
						return err
					}
					_, err := tx.Apply(ctx(), func([]store.Change) error { return nil })
					return err
				})
				if !errors.Is(err, store.ErrInvalid) {
					t.Errorf("Stage(label %+q, subtype %+q) = %v, want ErrInvalid", o.Label, o.Subtype, err)
				}
			}
			// A sync's own Enqueue (the SQLite store plans it on a
			// snapshot, apart from Store.Enqueue) follows the same rule.
			for _, nt := range []store.NewTask{
				{Kind: store.TaskLifecycle, Driver: bad.s, Payload: []byte(`{"action":"X"}`)},
				{Kind: store.TaskKind(bad.s), Payload: []byte(`{"action":"X"}`)},
			} {
				err := s.Sync(ctx(), tn.ID, func(tx store.SyncTx) error {
					_, err := tx.Enqueue(ctx(), []store.NewTask{Lifecycle("OK", ""), nt}, t0)
					return err
				})
				if !errors.Is(err, store.ErrInvalid) {
					t.Errorf("SyncTx.Enqueue(%+q) = %v, want ErrInvalid", nt, err)
				}
			}
			if _, err := s.Secret(ctx(), bad.s); !errors.Is(err, store.ErrInvalid) {
				t.Errorf("Secret(%+q) = %v, want ErrInvalid", bad.s, err)
			}
			p := auth.Principal{TenantIDs: scope, ClientID: tn.ClientID, Subject: tn.ClientID, Method: auth.MethodOAuth2}
			if err := s.SaveToken(ctx(), bad.s, p, t0.Add(time.Hour)); !errors.Is(err, store.ErrInvalid) {
				t.Errorf("SaveToken(%+q) = %v, want ErrInvalid", bad.s, err)
			}

			// Lookups: nothing found, no error.
			if _, err := s.FindTenantByClientID(ctx(), bad.s); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("FindTenantByClientID(%+q) = %v, want ErrNotFound", bad.s, err)
			}
			if _, err := s.FindClient(ctx(), bad.s); !errors.Is(err, auth.ErrUnknownClient) {
				t.Errorf("FindClient(%+q) = %v, want ErrUnknownClient", bad.s, err)
			}
			if got, err := s.FindTenantsByName(ctx(), bad.s); err != nil || len(got) != 0 {
				t.Errorf("FindTenantsByName(%+q) = %v, %v; want none", bad.s, got, err)
			}
			if _, _, err := s.LookupToken(ctx(), bad.s); !errors.Is(err, auth.ErrUnknownToken) {
				t.Errorf("LookupToken(%+q) = %v, want ErrUnknownToken", bad.s, err)
			}
			if got, err := s.LeaseTasks(ctx(), store.LeaseQuery{Tenants: scope, Driver: bad.s, Limit: 10, Now: t0, Lease: time.Minute}); err != nil || len(got) != 0 {
				t.Errorf("LeaseTasks(driver %+q) = %d tasks, %v; want none", bad.s, len(got), err)
			}
			if got, _, err := s.ListTasks(ctx(), store.TaskQuery{Tenants: scope, Driver: bad.s, Limit: 10}); err != nil || len(got) != 0 {
				t.Errorf("ListTasks(driver %+q) = %d tasks, %v; want none", bad.s, len(got), err)
			}
			if got, _, err := s.ListObjects(ctx(), store.ObjectQuery{Tenants: scope, Kind: store.KindPerson, Subtype: bad.s, Limit: 10}); err != nil || len(got) != 0 {
				t.Errorf("ListObjects(subtype %+q) = %d objects, %v; want none", bad.s, len(got), err)
			}
		})
	}
	if got := allTasks(t, s, tn.ID); len(got) != 1 {
		t.Errorf("%d tasks after refused enqueues, want the tenant's 1", len(got))
	}

	// Free text: U+0000 is kept exactly; invalid UTF-8 is refused.
	ts := mustEnqueue(t, s, tn.ID, 3)
	msg, app := "before\x00after \u2603 \\u0000", "\x00app"
	if _, err := s.AckTasks(ctx(), scope, []store.Ack{
		{TaskID: ts[0].ID, Status: store.AckError, Message: msg, AppID: app},
		{TaskID: ts[1].ID, Status: store.AckReauthenticate, Message: "\x00"},
	}, t0); err != nil {
		t.Fatalf("AckTasks with U+0000 in message and app id: %v", err)
	}
	for _, a := range []store.Ack{
		{TaskID: ts[2].ID, Status: store.AckError, Message: "a\xffb"},
		{TaskID: ts[2].ID, Status: store.AckSuccess, AppID: "caf\xc3"},
	} {
		if _, err := s.AckTasks(ctx(), scope, []store.Ack{a}, t0); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("AckTasks(message %+q, app %+q) = %v, want ErrInvalid", a.Message, a.AppID, err)
		}
	}
	h, err := s.History(ctx(), tn.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != 2 || h[0].Message != msg || h[0].AppID != app || h[1].Message != "\x00" {
		t.Fatalf("history = %+v; want the messages and app id exactly as acknowledged", h)
	}
	// JSON's \u0000 in object data and task payloads is bytes to a store.
	o := Person(store.SubtypeStudent, "nul")
	o.Data = []byte(`{"$sys":{"id":"` + o.ID.String() + `","type":"Person"},"name":{"first":"a\u0000b"}}`)
	Put(t, s, tn.ID, o)
	if got, err := s.FindObject(ctx(), scope, store.KindPerson, o.ID); err != nil || string(got.Data) != string(o.Data) {
		t.Errorf("FindObject = %s, %v; want %s", got.Data, err, o.Data)
	}
	nt := store.NewTask{Kind: store.TaskData, Payload: []byte(`{"action":"ADD","data":"\u0000"}`)}
	queued, err := s.Enqueue(ctx(), tn.ID, []store.NewTask{nt}, t0)
	if err != nil {
		t.Fatalf("Enqueue of a payload with \\u0000: %v", err)
	}
	if got, err := s.FindTask(ctx(), scope, queued[0].ID); err != nil || string(got.Payload) != string(nt.Payload) {
		t.Errorf("FindTask = %s, %v; want %s", got.Payload, err, nt.Payload)
	}
}

func withLabel(o store.Object, l string) store.Object   { o.Label = l; return o }
func withSubtype(o store.Object, s string) store.Object { o.Subtype = s; return o }

func principal(clientID string) auth.Principal {
	return auth.Principal{TenantIDs: []uuid.UUID{uuid.New()}, ClientID: clientID, Subject: clientID, Method: auth.MethodOAuth2}
}

// testTokenQuotas: SaveTokenWithin counts a client's tokens expiring after
// each quota's instant, refuses (with the oldest one's expiry) when one is
// full, and saves nothing then; other clients and expired tokens do not
// count.
func testTokenQuotas(t *testing.T, s store.Store) {
	a, b := principal("quota-a"), principal("quota-b")
	for i := range 3 {
		if err := s.SaveTokenWithin(ctx(), fmt.Sprint("a", i), a, t0.Add(time.Duration(i+1)*time.Hour), auth.TokenQuota{After: t0, Max: 3}); err != nil {
			t.Fatalf("token %d within the quota: %v", i, err)
		}
	}
	err := s.SaveTokenWithin(ctx(), "a3", a, t0.Add(4*time.Hour), auth.TokenQuota{After: t0, Max: 3})
	var qe *auth.QuotaError
	if !errors.As(err, &qe) || qe.Quota.Max != 3 || !qe.Oldest.Equal(t0.Add(time.Hour)) {
		t.Fatalf("fourth token = %v (%+v), want a QuotaError with the oldest expiry %v", err, qe, t0.Add(time.Hour))
	}
	if _, _, err := s.LookupToken(ctx(), "a3"); !errors.Is(err, auth.ErrUnknownToken) {
		t.Fatalf("a refused token was saved: %v", err)
	}
	if err := s.SaveTokenWithin(ctx(), "b0", b, t0.Add(time.Hour), auth.TokenQuota{After: t0, Max: 3}); err != nil {
		t.Fatalf("another client's token: %v", err)
	}
	// Once the oldest has expired (the window is past it) there is room.
	if err := s.SaveTokenWithin(ctx(), "a3", a, t0.Add(5*time.Hour), auth.TokenQuota{After: t0.Add(time.Hour), Max: 3}); err != nil {
		t.Fatalf("token after the oldest expired: %v", err)
	}
	// Every quota must have room: the second one here is full.
	err = s.SaveTokenWithin(ctx(), "a4", a, t0.Add(5*time.Hour), auth.TokenQuota{After: t0, Max: 100}, auth.TokenQuota{After: t0.Add(4 * time.Hour), Max: 1})
	if !errors.As(err, &qe) || qe.Quota.Max != 1 {
		t.Fatalf("second quota full: %v", err)
	}
	// SaveToken has no quota.
	for i := range 5 {
		if err := s.SaveToken(ctx(), fmt.Sprint("free", i), a, t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
}

// testTokenQuotaAcrossStores: stores saving tokens of one client at once
// cannot together exceed its quota.
func testTokenQuotaAcrossStores(t *testing.T, open Open, cfg config) {
	const n, each, quota = 4, 6, 5
	stores := replicas(t, open, cfg, n)
	p := principal("quota-across")
	var mu sync.Mutex
	saved, refused := 0, 0
	var wg sync.WaitGroup
	errs := make(chan error, n*each)
	start := make(chan struct{})
	for i, s := range stores {
		for j := range each {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				err := s.SaveTokenWithin(ctx(), fmt.Sprint("across-", i, "-", j), p, t0.Add(time.Hour), auth.TokenQuota{After: t0, Max: quota})
				var qe *auth.QuotaError
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					saved++
				case errors.As(err, &qe):
					refused++
				default:
					errs <- err
				}
			}()
		}
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if saved != quota || refused != n*each-quota {
		t.Fatalf("%d saved, %d refused; want %d and %d", saved, refused, quota, n*each-quota)
	}
}
