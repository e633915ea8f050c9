package readme_test

import (
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/interop-data/interop/gen/models"
	"github.com/interop-data/interop/internal/syncbuf"
	"github.com/interop-data/interop/pkg/client"
	"github.com/interop-data/interop/pkg/listen"
	"github.com/interop-data/interop/pkg/reference/referencetest"
)

// The README's Python endpoint, run as written, receives every task
// interop listen delivers from the reference server, checks each
// signature (a forged delivery gets 401), and its answers acknowledge the
// tasks with its message and app id.
func TestListenPythonReceiver(t *testing.T) {
	python := tool(t, "python3")
	src := block(t, "Tasks as webhooks: interop listen", "python")
	tmp := t.TempDir()
	file := filepath.Join(tmp, "receiver.py")
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	const secret = "readme-secret"
	var out, errs syncbuf.Buffer
	cmd := exec.Command(python, file)
	cmd.Env = append(os.Environ(), "PORT="+port, "INTEROP_WEBHOOK_SECRET="+secret)
	cmd.Stdout, cmd.Stderr = &out, &errs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	waitFor(t, 30*time.Second, "the Python endpoint to listen", func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	})

	forged, err := http.Post("http://"+addr+"/", "application/json", strings.NewReader(`{"data_event":{}}`))
	if err != nil {
		t.Fatal(err)
	}
	forged.Body.Close()
	if forged.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a delivery without a signature got %d, want 401", forged.StatusCode)
	}

	env := referencetest.Start(t, referencetest.WithTenants(1))
	c, err := client.New(env.URL, client.WithClientCredentials(env.Tenants[0].ClientID, env.Tenants[0].ClientSecret, env.TokenURL))
	if err != nil {
		t.Fatal(err)
	}
	tasks, err := client.Collect(c.AdminTasks(t.Context(), nil))
	if err != nil || len(tasks) == 0 {
		t.Fatalf("%d tasks: %v", len(tasks), err)
	}
	f, err := listen.NewForwarder("http://"+addr+"/", listen.WithSecret([]byte(secret)))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	acked := map[string]models.TaskAckGroupItem{}
	all := make(chan struct{})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- listen.Run(ctx, c, f, client.WithAckObserver(func(r client.AckResult) {
			mu.Lock()
			defer mu.Unlock()
			if r.Err == nil {
				acked[r.Ack.TaskID.String()] = r.Ack
				if len(acked) == len(tasks) {
					close(all)
				}
			}
		}))
	}()
	select {
	case <-all:
	case err := <-done:
		t.Fatalf("listen stopped: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatalf("not every task acknowledged; endpoint output:\n%s\n%s", out.String(), errs.String())
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, tk := range tasks {
		a := acked[tk.ID.String()]
		if a.Status != models.Success || a.Message != "stored" || a.SysAppID != "local-"+tk.ID.String()[:8] {
			t.Errorf("task %s: %+v", tk.ID, a)
		}
		if !strings.Contains(out.String(), tk.Kind+" "+tk.ID.String()+"\n") {
			t.Errorf("the endpoint did not print task %s", tk.ID)
		}
	}
}
