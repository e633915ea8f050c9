package readme_test

import (
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/interop-data/interop/gen/models"
	"github.com/interop-data/interop/pkg/client"
)

// The README's LTI steps on a fresh `make run`: the token `interop tenant
// lti-token` prints lists (the README's curl line), then finds, leases and
// acknowledges through the client's LTI mode.
func TestLTISteps(t *testing.T) {
	bash := tool(t, "bash")
	tool(t, "curl")
	base, _, mkOut := makeRun(t)
	waitFor(t, time.Minute, "make run to print how to get an LTI token", func() bool { return strings.Contains(mkOut.String(), "--tenant demo") })
	m := regexp.MustCompile(`interop: serving (\S+) on`).FindStringSubmatch(mkOut.String())
	if m == nil || !strings.Contains(mkOut.String(), "--tenant demo") {
		t.Fatalf("make run printed no database or no lti-token hint:\n%s", mkOut.String())
	}
	db := m[1]
	bin := filepath.Join(filepath.Dir(db), "interop") // make run's BIN, beside its DB (makeRun)
	script := replace(t, block(t, "LTI JWT callers", "sh"), "127.0.0.1:8080", strings.TrimPrefix(base, "http://"))
	script = replace(t, script, "./interop.db", db)
	script = replace(t, script, "go run ./cmd/interop", bin)
	out, err := exec.Command(bash, "-euo", "pipefail", "-c", script+"\nprintf '\\n%s\\n' \"$TOKEN\"").CombinedOutput()
	if err != nil {
		t.Fatalf("the README's LTI lines: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	token := lines[len(lines)-1]
	var schools struct {
		Data []models.Org `json:"data"`
	}
	if err := json.Unmarshal([]byte(strings.Join(lines[:len(lines)-1], "\n")), &schools); err != nil || len(schools.Data) == 0 {
		t.Fatalf("the README's curl line printed %q (%v), want the demo schools", out, err)
	}
	ctx := context.Background()
	c, err := client.New(base+"/v2/interop/data", client.WithLTIJWTFunc(func(context.Context) (string, error) { return token, nil }))
	if err != nil {
		t.Fatal(err)
	}
	if o, err := c.FindOrg(ctx, schools.Data[0].Sys.ID); err != nil || o.Sys.ID != schools.Data[0].Sys.ID {
		t.Fatalf("FindOrg with the LTI token: %v, %v", o, err)
	}
	batch, err := c.ListTasks(ctx, &client.TaskListOptions{PageSize: 2})
	if err != nil || len(batch) != 2 {
		t.Fatalf("ListTasks with the LTI token: %d, %v", len(batch), err)
	}
	if rc, err := c.AcknowledgeTask(ctx, batch[0].ID, models.TaskAck{}); err != nil || rc.Status != models.Success {
		t.Fatalf("acknowledging with {}: %+v, %v", rc, err)
	}
	if rc, err := c.AcknowledgeTask(ctx, batch[1].ID, models.TaskAck{Message: "done"}); err != nil || rc.Status != models.Success {
		t.Fatalf(`acknowledging with {"message"}: %+v, %v`, rc, err)
	}
}
