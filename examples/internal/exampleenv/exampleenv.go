// Package exampleenv holds what every example program reads from its
// environment, with defaults that match `make run` (the reference server on
// 127.0.0.1:8080 with the demo tenant), and the -h text that lists it.
package exampleenv

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/interop-data/interop/pkg/client"
)

// Var is one environment variable an example reads.
type Var struct {
	Name, Default, Help string
}

// Vars are the variables, with the defaults of `make run`.
var Vars = []Var{
	{"INTEROP_URL", "http://127.0.0.1:8080/v2/interop/data", "base URL of the API"},
	{"INTEROP_CLIENT_ID", "demo", "OAuth2 client id"},
	{"INTEROP_CLIENT_SECRET", "demo-secret", "OAuth2 client secret"},
	{"INTEROP_TOKEN_URL", "", "token endpoint"},
}

// Get returns the variable's value, or its default when unset or empty.
func Get(name string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	for _, v := range Vars {
		if v.Name == name {
			return v.Default
		}
	}
	return ""
}

// Usage is the -h text of an example: its synopsis, what it does and the
// variables it reads.
func Usage(synopsis, what string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "usage: %s\n\n%s\n\nEnvironment (defaults match make run):\n", synopsis, what)
	for _, v := range Vars {
		def := v.Default
		if def == "" {
			def = "/oauth/token on the API's host"
		}
		fmt.Fprintf(&b, "  %-22s %s (%s)\n", v.Name, v.Help, def)
	}
	return b.String()
}

// Parse installs Usage as the -h text and parses the command line; the
// examples take no flags of their own.
func Parse(synopsis, what string) {
	flag.Usage = func() { fmt.Fprint(flag.CommandLine.Output(), Usage(synopsis, what)) }
	flag.Parse()
}

// Client returns a client of INTEROP_URL authenticated with the client
// credentials of the environment, plus opts.
func Client(opts ...client.Option) (*client.Client, error) {
	all := append([]client.Option{client.WithClientCredentials(Get("INTEROP_CLIENT_ID"), Get("INTEROP_CLIENT_SECRET"), Get("INTEROP_TOKEN_URL"))}, opts...)
	return client.New(Get("INTEROP_URL"), all...)
}

// Explain adds to err which variables to check: the credentials when the
// server refused them, INTEROP_URL when it has no such operation or cannot
// be reached.
func Explain(err error) error {
	var apiErr *client.APIError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, client.ErrUnauthorized):
		return fmt.Errorf("%w\ncheck INTEROP_CLIENT_ID and INTEROP_CLIENT_SECRET (now client id %q), and INTEROP_TOKEN_URL if the token endpoint is elsewhere", err, Get("INTEROP_CLIENT_ID"))
	case errors.Is(err, client.ErrNotFound):
		return fmt.Errorf("%w\ncheck INTEROP_URL (now %s): it must be the API's base URL, ending in /v2/interop/data on the reference server", err, Get("INTEROP_URL"))
	case !errors.As(err, &apiErr):
		return fmt.Errorf("%w\nis a server running at INTEROP_URL (now %s)? make run starts the reference server there", err, Get("INTEROP_URL"))
	}
	return err
}
