package readme_test

import (
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/interop-data/interop/internal/syncbuf"
	"github.com/interop-data/interop/pkg/conformance"
	"github.com/interop-data/interop/pkg/reference/store/postgres/pgtest"
)

// freeBlock returns n consecutive ports that are free right now.
func freeBlock(t *testing.T, n int) int {
	t.Helper()
	for range 100 {
		base := 20000 + rand.IntN(40000)
		var lns []net.Listener
		for i := range n {
			ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(base+i))
			if err != nil {
				break
			}
			lns = append(lns, ln)
		}
		for _, ln := range lns {
			ln.Close()
		}
		if len(lns) == n {
			return base
		}
	}
	t.Fatalf("no %d consecutive free ports", n)
	return 0
}

// `make scale`, the README's "Run it at scale" recipe: three replicas on
// PostgreSQL behind HAProxy. Through the load balancer the whole
// conformance suite passes, every replica serves part of it, paging links
// name the load balancer, and stopping make stops every process it started.
func TestScaleRecipe(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds bin/interop and runs three replicas behind HAProxy")
	}
	tool(t, "haproxy")
	tool(t, "make")
	tool(t, "curl")
	db := pgtest.Schema(t)
	if !strings.Contains(block(t, "Run it at scale", "sh"), "make scale") {
		t.Fatal(`the README's "Run it at scale" block does not use make scale`)
	}
	const replicas = 3
	port := freeBlock(t, replicas)
	lb := freeAddr(t)
	tmp := t.TempDir()
	var out syncbuf.Buffer
	mk := exec.Command("make", "scale", "BIN="+filepath.Join(tmp, "interop"), "PG="+db, "LB="+lb,
		"PORT="+strconv.Itoa(port), "REPLICAS="+strconv.Itoa(replicas))
	mk.Dir = root
	mk.Stdout, mk.Stderr = &out, &out
	if err := mk.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if mk.ProcessState == nil {
			_ = mk.Process.Signal(syscall.SIGTERM)
			_ = mk.Wait()
		}
	})
	waitFor(t, 4*time.Minute, "make scale to start the replicas and HAProxy\n"+out.String(), func() bool {
		return strings.Contains(out.String(), "replicas behind HAProxy")
	})

	base := "http://" + lb + "/v2/interop/data"
	rep, err := conformance.Run(t.Context(), conformance.Config{BaseURL: base,
		Clients: []conformance.Credentials{{ClientID: "demo", ClientSecret: "demo-secret"}}})
	if err != nil {
		t.Fatalf("conformance through HAProxy: %v\n%s", err, out.String())
	}
	if !rep.OK() {
		var sb strings.Builder
		_ = rep.WriteText(&sb)
		t.Errorf("conformance through HAProxy:\n%s", sb.String())
	}
	// Paging links name the load balancer, not a replica.
	tok := token(t, "http://"+lb+"/oauth/token")
	body := get(t, base+"/rostering/persons?page_size=1", tok)
	if !strings.Contains(body, `"next":"http://`+lb+`/v2/interop/data/rostering/persons?`) {
		t.Errorf("paging.next does not name the load balancer %s: %s", lb, body)
	}
	// Each replica served part of the run.
	served := regexp.MustCompile(`(?m)^interop_http_requests_total\{code="200",method="GET",operation="list[A-Za-z]+"\} (\d+)`)
	for i := range replicas {
		addr := "127.0.0.1:" + strconv.Itoa(port+i)
		m := served.FindAllStringSubmatch(get(t, "http://"+addr+"/metrics", ""), -1)
		n := 0
		for _, x := range m {
			k, _ := strconv.Atoi(x[1])
			n += k
		}
		if n == 0 {
			t.Errorf("replica %s served no list: HAProxy did not spread the load", addr)
		}
	}

	stop(t, mk, syscall.SIGTERM)
	for i := range replicas {
		if healthy("http://127.0.0.1:" + strconv.Itoa(port+i)) {
			t.Errorf("replica %d still answers after make was stopped", i+1)
		}
	}
	if healthy("http://" + lb) {
		t.Error("HAProxy still answers after make was stopped")
	}
}

func token(t *testing.T, tokenURL string) string {
	t.Helper()
	resp, err := http.PostForm(tokenURL, map[string][]string{"grant_type": {"client_credentials"}, "client_id": {"demo"}, "client_secret": {"demo-secret"}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	m := regexp.MustCompile(`"access_token":"([^"]+)"`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("token: %s %s", resp.Status, b)
	}
	return string(m[1])
}

func get(t *testing.T, u, tok string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %s %s", u, resp.Status, b)
	}
	return string(b)
}
