package conformance_test

import (
	"strings"
	"testing"

	"github.com/interop-data/interop/internal/syncbuf"
	"github.com/interop-data/interop/pkg/conformance"
)

// The redelivery check's pause is announced on Progress: how long, and what
// for, so that a run with --lease-wait 5m does not sit silent for minutes.
func TestLeaseWaitIsAnnounced(t *testing.T) {
	tg := fakeTarget(t)
	cfg := tg.serve(t, tg.inner)
	cfg.Groups = []string{"tasks"}
	var progress syncbuf.Buffer
	cfg.Progress = &progress
	rep, err := conformance.Run(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() {
		dump(t, rep)
		t.Fatal("the tasks group fails against the fake")
	}
	out := progress.String()
	if !strings.Contains(out, "waiting 1m6.1s (the lease given by --lease-wait, plus a margin) for the lease of task ") ||
		!strings.Contains(out, "to check that an unacknowledged task is delivered again") {
		t.Fatalf("progress does not announce the lease wait:\n%s", out)
	}
}
