package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/interop-data/interop/gen/models"
	"github.com/interop-data/interop/pkg/client"
	"github.com/interop-data/interop/pkg/reference"
	"github.com/interop-data/interop/pkg/reference/referencetest"
)

// TestExport runs the export against the reference server: a header, then
// one row per student of each school, with a name that needs both UTF-8 and
// CSV quoting read back unchanged.
func TestExport(t *testing.T) {
	env := referencetest.Start(t, referencetest.WithTenants(1))
	tn := env.Tenants[0]
	ctx := context.Background()

	// Rename one student, then load the district again (an upsert).
	roster := tn.Roster
	roster.Persons = slices.Clone(roster.Persons)
	roster.Silent = true
	const firstName, lastName = "Zoë-李", `Núñez, "Ñandú"`
	want := map[string]bool{}
	renamed := ""
	for i, p := range roster.Persons {
		if p.Sys.PersonType != "Student" {
			continue
		}
		want[p.Sys.ID.String()] = true
		if renamed == "" {
			renamed = p.Sys.ID.String()
			roster.Persons[i].Name = models.NameType{First: firstName, Last: lastName}
		}
	}
	if _, err := reference.Load(ctx, env.Store, tn.ID, roster, env.Clock.Now()); err != nil {
		t.Fatal(err)
	}

	c, err := client.New(env.URL, client.WithClientCredentials(tn.ClientID, tn.ClientSecret, env.TokenURL),
		client.WithValidation(client.ValidationEnforce))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := export(ctx, c, &out); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&out).ReadAll()
	if err != nil {
		t.Fatalf("not valid CSV: %v\n%s", err, out.String())
	}
	if len(rows) == 0 || !slices.Equal(rows[0], header) {
		t.Fatalf("header %v", rows[:min(1, len(rows))])
	}
	got := map[string]bool{}
	for _, r := range rows[1:] {
		id := r[2]
		if !want[id] || got[id] {
			t.Fatalf("row for %s: not a student or twice: %v", id, r)
		}
		got[id] = true
		if r[0] == "" || r[1] == "" || r[3] == "" {
			t.Fatalf("row without school or local id: %v", r)
		}
		if id == renamed && (r[4] != firstName || r[5] != lastName) {
			t.Fatalf("name %q %q, want %q %q", r[4], r[5], firstName, lastName)
		}
	}
	if len(got) != len(want) || len(want) != 16 {
		t.Fatalf("%d students exported, %d in the district", len(got), len(want))
	}
}

// failSecond fails the second request for students with a transport error.
type failSecond struct{ n int }

func (f *failSecond) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasSuffix(r.URL.Path, "/students") {
		if f.n++; f.n == 2 {
			return nil, errors.New("injected: connection reset")
		}
	}
	return http.DefaultTransport.RoundTrip(r)
}

// TestExportFlushesOnError: when a page fails, the rows of the pages before
// it are on out, whole (the writer is flushed), and the error is returned.
func TestExportFlushesOnError(t *testing.T) {
	env := referencetest.Start(t, referencetest.WithTenants(1))
	tn := env.Tenants[0]
	c, err := client.New(env.URL, client.WithClientCredentials(tn.ClientID, tn.ClientSecret, env.TokenURL),
		client.WithHTTPClient(&http.Client{Transport: &failSecond{}}), client.WithRetryPolicy(client.NoRetries()))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := export(context.Background(), c, &out); err == nil {
		t.Fatal("export succeeded although a page failed")
	}
	rows, err := csv.NewReader(&out).ReadAll()
	if err != nil || len(rows) != 1+8 {
		t.Fatalf("%d rows (%v), want the header and the first school's 8 students:\n%s", len(rows), err, out.String())
	}
}
