package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestConformanceFlags(t *testing.T) {
	down := httptest.NewServer(http.NotFoundHandler())
	downURL := down.URL
	down.Close()
	for name, tc := range map[string]struct {
		args   []string
		status int
		stderr string
	}{
		"no flags":          {nil, 2, "--base-url, --client-id and --client-secret are required"},
		"no secret":         {[]string{"--base-url", "http://x/v2/interop/data", "--client-id", "a"}, 2, "required"},
		"half second pair":  {[]string{"--base-url", "http://x/v2/interop/data", "--client-id", "a", "--client-secret", "b", "--client-id-2", "c"}, 2, "go together"},
		"unknown flag":      {[]string{"--nope"}, 2, "flag provided but not defined"},
		"extra argument":    {[]string{"--base-url", "http://x", "--client-id", "a", "--client-secret", "b", "extra"}, 2, "unexpected arguments"},
		"help":              {[]string{"-h"}, 0, "--lease-wait"},
		"server down":       {[]string{"--base-url", downURL + "/v2/interop/data", "--client-id", "a", "--client-secret", "b"}, 1, "not usable"},
		"relative base url": {[]string{"--base-url", "/v2/interop/data", "--client-id", "a", "--client-secret", "b"}, 1, "not an absolute"},
	} {
		t.Run(name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			got := run(t.Context(), append([]string{"conformance"}, tc.args...), &out, &errOut)
			if got != tc.status {
				t.Errorf("exit status %d, want %d (stderr %q)", got, tc.status, errOut.String())
			}
			if !strings.Contains(errOut.String(), tc.stderr) {
				t.Errorf("stderr %q does not say %q", errOut.String(), tc.stderr)
			}
		})
	}
}
