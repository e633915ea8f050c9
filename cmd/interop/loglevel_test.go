package main

import (
	"bytes"
	"context"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// serveLogs runs serve with args, makes one request that fails
// authentication, stops it and returns what it logged.
func serveLogs(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	var out, errOut syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, append([]string{"serve", "--addr", "127.0.0.1:0", "--db", filepath.Join(t.TempDir(), "i.db")}, args...), &out, &errOut)
	}()
	base := regexp.MustCompile(`base URL:\s+(\S+)`)
	var url string
	for deadline := time.Now().Add(30 * time.Second); url == ""; time.Sleep(10 * time.Millisecond) {
		if m := base.FindStringSubmatch(out.String()); m != nil {
			url = m[1]
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start:\n%s", errOut.String())
		}
	}
	resp, err := http.Get(url + "/rostering/orgs")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("serve: exit status %d\n%s", code, errOut.String())
	}
	return errOut.String()
}

// --log-level and --access-log-level choose what serve logs: the
// conformance recipe runs the server with warn and gets no request lines.
func TestServeLogLevels(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		args                []string
		requests, listening bool
	}{
		"default":             {nil, true, true},
		"warn":                {[]string{"--log-level", "warn"}, false, false},
		"access at warn":      {[]string{"--log-level", "warn", "--access-log-level", "warn"}, true, false},
		"access at debug":     {[]string{"--access-log-level", "debug"}, false, true},
		"access at debug, -v": {[]string{"--access-log-level", "debug", "-v"}, true, true},
		"upper case, error":   {[]string{"--log-level", "ERROR"}, false, false},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			logs := serveLogs(t, tc.args...)
			if got := strings.Contains(logs, "msg=request"); got != tc.requests {
				t.Errorf("request lines logged: %v, want %v\n%s", got, tc.requests, logs)
			}
			if got := strings.Contains(logs, "msg=listening"); got != tc.listening {
				t.Errorf("info lines logged: %v, want %v\n%s", got, tc.listening, logs)
			}
		})
	}
	var errOut bytes.Buffer
	if code := run(t.Context(), []string{"serve", "--access-log-level", "loud"}, &bytes.Buffer{}, &errOut); code != 2 || !strings.Contains(errOut.String(), "want debug, info, warn or error") {
		t.Errorf("--access-log-level loud: exit status %d, %q", code, errOut.String())
	}
}
