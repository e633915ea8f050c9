// Package exampleenv holds what every example program reads from its
// environment, with defaults that match `make run` (the reference server on
// 127.0.0.1:8080 with the demo tenant), and the -h text that lists it.
package exampleenv

import (
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
