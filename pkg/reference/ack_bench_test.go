package reference_test

import (
	"bytes"
	"fmt"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/interop-data/interop/internal/cputime"
	"github.com/interop-data/interop/pkg/reference"
	"github.com/interop-data/interop/pkg/reference/referencetest"
	"github.com/interop-data/interop/pkg/reference/store"
	"github.com/interop-data/interop/pkg/server"
)

// BenchmarkLargestGroupAck sends the largest group acknowledgement the body
// limit admits through the real server (OAuth2, the body checks, validation,
// the binder, the SQLite store): leased tasks, each acknowledged as an error
// with a message of the maximum 4096 characters, as many as fit in the body
// limit (4 MiB by default). Issue 9 bounds the server's CPU per request at
// 100 ms; ack-cpu-ms is the process's CPU over the PUT alone (the client's
// sending of prepared bytes included), not the setup of each round, and B/op
// likewise counts the PUT alone. limit=10MiB is the same request under the
// 10 MiB limit first chosen, where the spec's 2000 plain-text messages fit.
func BenchmarkLargestGroupAck(b *testing.B) {
	for _, limit := range []int64{server.DefaultBodyLimit, 10 << 20} {
		for _, msg := range []struct{ name, char string }{
			{"ascii", "x"},
			// Two-byte UTF-8 characters: the longest message in bytes that
			// needs no escapes (8 KB), so fewer fit. The spec counts characters.
			{"utf8", "é"},
		} {
			b.Run(fmt.Sprintf("limit=%dMiB/message=%s", limit>>20, msg.name), func(b *testing.B) {
				benchLargestAck(b, limit, strings.Repeat(msg.char, 4096))
			})
		}
	}
}

func benchLargestAck(b *testing.B, limit int64, message string) {
	env := referencetest.Start(b, referencetest.WithTenants(1), referencetest.WithDistrict(referencetest.SmallDistrict),
		referencetest.WithServerOptions(server.WithBodyLimit(limit)))
	ctx := context.Background()
	tn := env.Tenants[0].ID
	if _, err := env.Store.LeaseTasks(ctx, store.LeaseQuery{Tenants: []uuid.UUID{tn}, Limit: 1 << 20, Now: env.Clock.Now(), Lease: 1 << 62}); err != nil {
		b.Fatal(err)
	}
	person := env.Tenants[0].Roster.Persons[0]
	data, _ := json.Marshal(person)
	obj := store.Object{ID: person.Sys.ID, Kind: store.KindPerson, Subtype: "Student", Label: "Zoë Núñez", Data: data}
	token := env.Token(b, 0)
	type item struct {
		TaskID  uuid.UUID `json:"task_id"`
		Status  string    `json:"status"`
		Message string    `json:"message"`
	}
	// As many items as fit under the body limit, at most the spec's 2000.
	per := len(`{"task_id":"00000000-0000-0000-0000-000000000000","status":"error","message":""},`) + len(message)
	n := min(2000, int(limit-2)/per)
	var cpu time.Duration
	var bytesSent int
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		batch := make([]store.NewTask, n)
		for i := range batch {
			batch[i] = reference.DataTask(reference.ActionAdd, obj, data, nil, uuid.New(), "")
		}
		if _, err := env.Store.Enqueue(ctx, tn, batch, env.Clock.Now()); err != nil {
			b.Fatal(err)
		}
		leased, err := env.Store.LeaseTasks(ctx, store.LeaseQuery{Tenants: []uuid.UUID{tn}, Limit: n, Now: env.Clock.Now(), Lease: time.Hour})
		if err != nil || len(leased) != n {
			b.Fatalf("leased %d of %d: %v", len(leased), n, err)
		}
		items := make([]item, n)
		for i, t := range leased {
			items[i] = item{TaskID: t.ID, Status: "error", Message: message}
		}
		body, _ := json.Marshal(items)
		bytesSent = len(body)
		req, _ := http.NewRequest(http.MethodPut, env.URL+"/tasks/ack", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		runtime.GC()
		b.StartTimer()
		start, _ := cputime.Now()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		answer, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		end, _ := cputime.Now()
		cpu += end - start
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("ack = %d %s", resp.StatusCode, answer)
		}
	}
	b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N), "ack-cpu-ms")
	b.ReportMetric(float64(bytesSent)/(1<<20), "body-MiB")
	b.ReportMetric(float64(n), "items")
}
