package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// An address already in use fails before the database is created.
func TestServeListenFailureLeavesNoDatabase(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	db := filepath.Join(t.TempDir(), "interop.db")
	var errOut bytes.Buffer
	code := run(context.Background(), []string{"serve", "--addr", taken.Addr().String(), "--db", db, "--demo"}, &bytes.Buffer{}, &errOut)
	if code != 1 || !strings.Contains(errOut.String(), "listen on "+taken.Addr().String()) {
		t.Fatalf("serve on a taken address: exit %d, stderr %q", code, errOut.String())
	}
	matches, _ := filepath.Glob(db + "*")
	if len(matches) > 0 {
		t.Fatalf("a failed listen left %v behind", matches)
	}
	if _, err := os.Stat(db); !os.IsNotExist(err) {
		t.Fatalf("stat %s: %v", db, err)
	}
}

// Each bad value names its own flag; -h states each default once.
func TestServeFlagMessages(t *testing.T) {
	for args, want := range map[string]string{
		"--batch-size -5":  "--batch-size must be positive, not -5",
		"--batch-size 0":   "--batch-size must be positive, not 0",
		"--task-lease -1s": "--task-lease must be positive, not -1s",
	} {
		var errOut bytes.Buffer
		code := run(context.Background(), append([]string{"serve"}, strings.Fields(args)...), &bytes.Buffer{}, &errOut)
		if code != 2 || strings.TrimSpace(errOut.String()) != "interop serve: "+want {
			t.Errorf("serve %s: exit %d, stderr %q, want %q", args, code, errOut.String(), want)
		}
	}

	t.Setenv("ADDR", "")
	var help bytes.Buffer
	if code := run(context.Background(), []string{"serve", "-h"}, &bytes.Buffer{}, &help); code != 0 {
		t.Fatalf("serve -h: exit %d", code)
	}
	if !strings.Contains(help.String(), "address to listen on; $ADDR, when set, replaces the default (default \"127.0.0.1:8080\")\n") {
		t.Errorf("serve -h, --addr:\n%s", help.String())
	}
	for _, line := range strings.Split(help.String(), "\n") {
		if strings.Count(line, "(default") > 1 {
			t.Errorf("serve -h states a default twice: %q", line)
		}
	}
	t.Setenv("ADDR", "0.0.0.0:9999")
	help.Reset()
	run(context.Background(), []string{"serve", "-h"}, &bytes.Buffer{}, &help)
	if !strings.Contains(help.String(), `(default "0.0.0.0:9999")`) {
		t.Errorf("serve -h with $ADDR set:\n%s", help.String())
	}
}
