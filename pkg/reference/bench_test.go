package reference_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/google/uuid"

	"github.com/interop-data/interop/internal/cputime"
	"github.com/interop-data/interop/pkg/reference/referencetest"
	"github.com/interop-data/interop/pkg/reference/store"
	"github.com/interop-data/interop/pkg/reference/store/storetest"
	"github.com/interop-data/interop/pkg/server"
)

func benchGet(b *testing.B, url, token string, v any) {
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		body, _ := io.ReadAll(resp.Body)
		b.Fatalf("GET %s = %d %s", url, resp.StatusCode, body)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkTaskLeaseAck measures a consumer's loop through HTTP against the
// real server (OAuth2, request and response validation, SQLite): GET /tasks
// for a batch of 100 data events, then one group acknowledgement. One
// iteration is one task; tasks/s is the throughput.
func BenchmarkTaskLeaseAck(b *testing.B) {
	env := referencetest.Start(b, referencetest.WithTenants(1), referencetest.WithDistrict(referencetest.SmallDistrict))
	env.QueueDataEvents(b, 0, b.N)
	token := env.Token(b, 0)
	b.ResetTimer()
	done := 0
	for done < b.N {
		var page struct {
			Data []map[string]struct{ ID string }
		}
		benchGet(b, env.URL+"/tasks?page_size=100", token, &page)
		if len(page.Data) == 0 {
			b.Fatalf("queue empty after %d of %d tasks", done, b.N)
		}
		acks := make([]map[string]string, 0, len(page.Data))
		for _, t := range page.Data {
			acks = append(acks, map[string]string{"task_id": t["data_event"].ID, "status": "success"})
		}
		body, _ := json.Marshal(acks)
		req, _ := http.NewRequest(http.MethodPut, env.URL+"/tasks/ack", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("ack = %d", resp.StatusCode)
		}
		done += len(page.Data)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tasks/s")
}

// BenchmarkPagingWalk100k measures a full walk of GET /rostering/persons
// over 100,000 persons at the default (maximum) page size of 2000: 50 pages
// through HTTP. One iteration is one whole walk. The kit's response
// validation is measured on (its default) and off, to separate its cost
// from the store's and the handler's.
func BenchmarkPagingWalk100k(b *testing.B) {
	if testing.Short() {
		b.Skip("the 100,000-person setup is skipped in short mode")
	}
	b.Run("validation=enforce", func(b *testing.B) { benchWalk(b) })
	b.Run("validation=off", func(b *testing.B) {
		benchWalk(b, referencetest.WithServerOptions(server.WithResponseValidation(server.ValidationOff)))
	})
}

func benchWalk(b *testing.B, opts ...referencetest.Option) {
	const n = 100_000
	env := referencetest.Start(b, append(opts, referencetest.WithTenants(1))...)
	school := env.Tenants[0].Roster.Orgs[1].Sys.ID
	objs := make([]store.Object, 0, n)
	for i := range n {
		id := uuid.NewSHA1(uuid.NameSpaceOID, fmt.Appendf(nil, "bench-person-%d", i))
		first, last := "Zoë", fmt.Sprintf("Núñez-%d", i)
		data, _ := json.Marshal(map[string]any{
			"$sys":      map[string]any{"id": id, "type": "Person", "person_type": "Student", "label": first + " " + last, "school_year": 2026},
			"local_id":  fmt.Sprintf("S%06d", i),
			"name":      map[string]string{"first": first, "last": last},
			"email":     fmt.Sprintf("student%d@example.org", i),
			"grad_year": "2032",
			"$schools": []any{map[string]any{"$sys": map[string]any{"id": school, "type": "Org", "org_type": "School", "label": "Lincoln Elementary",
				"$membership": map[string]any{"id": uuid.NewSHA1(id, []byte("m")), "type": "PersonOrgMembership"}}}},
		})
		objs = append(objs, store.Object{ID: id, Kind: store.KindPerson, Subtype: "Student", Label: first + " " + last, Data: data, Orgs: []uuid.UUID{school}})
	}
	storetest.Put(b, env.Store, env.Tenants[0].ID, objs...)
	total := n + len(env.Tenants[0].Roster.Persons)
	token := env.Token(b, 0)
	b.ResetTimer()
	defer cputime.Measure(b)()
	for range b.N {
		seen, pages := 0, 0
		next := env.URL + "/rostering/persons"
		for next != "" {
			var page struct {
				Data   []json.RawMessage
				Paging struct{ Next *string }
			}
			benchGet(b, next, token, &page)
			seen += len(page.Data)
			pages++
			next = ""
			if page.Paging.Next != nil {
				next = *page.Paging.Next
			}
		}
		if seen != total {
			b.Fatalf("walk saw %d persons, want %d", seen, total)
		}
	}
	b.ReportMetric(float64(total*b.N)/b.Elapsed().Seconds(), "persons/s")
}
