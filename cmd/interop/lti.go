package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/google/uuid"

	"github.com/interop-data/interop/pkg/reference/lti"
	"github.com/interop-data/interop/pkg/reference/store"
	"github.com/interop-data/interop/pkg/reference/store/open"
	"github.com/interop-data/interop/pkg/server/auth"
)

// runTenantLTIToken mints an LTI JWT of the database's test issuer naming
// the tenants given, and prints it alone on stdout (--json: with its expiry
// and claims), so that `TOKEN=$(interop tenant lti-token ...)` works.
func runTenantLTIToken(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("tenant lti-token", flag.ContinueOnError)
	fs.SetOutput(stderr)
	db := fs.String("db", "./interop.db", "the reference server's database: a SQLite file or a postgres:// URL")
	tenants := fs.String("tenant", "", "the tenants the token names, comma-separated: each an id, client id or name (demo for the demo tenant)")
	ttl := fs.Duration("ttl", lti.DefaultTTL, "how long the token is valid (at most 24h)")
	subject := fs.String("sub", "", "the token's sub claim (default lti-test-user)")
	asJSON := fs.Bool("json", false, "print the token with its expiry and claims as JSON")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if *tenants == "" {
		fmt.Fprintln(stderr, "interop tenant lti-token: --tenant is required (one or more tenants, comma-separated)")
		return exitError(2)
	}
	if *ttl <= 0 || *ttl > lti.MaxTTL {
		fmt.Fprintf(stderr, "interop tenant lti-token: --ttl must be positive and at most %s, not %s\n", lti.MaxTTL, *ttl)
		return exitError(2)
	}
	st, err := open.Existing(ctx, *db)
	if err != nil {
		return err
	}
	defer st.Close()
	var ids []uuid.UUID
	for _, name := range strings.Split(*tenants, ",") {
		if name = strings.TrimSpace(name); name == "" {
			continue
		}
		t, err := findTenant(ctx, st, name)
		if err != nil {
			return err
		}
		ids = append(ids, t.ID)
	}
	tok, err := lti.New(st).Mint(ctx, ids, *ttl, *subject)
	if errors.Is(err, lti.ErrNoTenant) {
		fmt.Fprintln(stderr, "interop tenant lti-token: --tenant names no tenant")
		return exitError(2)
	}
	if err != nil {
		return err
	}
	if *asJSON {
		writeJSON(stdout, tok)
		return nil
	}
	fmt.Fprintln(stdout, tok.Token)
	return nil
}

// runTenantLTIKey shows or rotates the test issuer's signing key.
func runTenantLTIKey(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("tenant lti-key", flag.ContinueOnError)
	fs.SetOutput(stderr)
	db := fs.String("db", "./interop.db", "the reference server's database: a SQLite file or a postgres:// URL")
	rotate := fs.Bool("rotate", false, "make a new signing key; tokens signed with the previous one stay valid until they expire")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	st, err := open.Existing(ctx, *db)
	if err != nil {
		return err
	}
	defer st.Close()
	is := lti.New(st)
	if *rotate {
		kid, err := is.Rotate(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "new LTI signing key %s; the previous keys verify the tokens they signed until those expire (at most %s)\n", kid, lti.MaxTTL)
		return nil
	}
	kid, err := is.Ensure(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "LTI signing key %s (issuer %s, audience %s); rotate with --rotate\n", kid, lti.IssuerName, lti.Audience)
	return nil
}

// ltiFlags are serve's LTI options.
type ltiFlags struct {
	testIssuer                          *bool
	issuer, audience, jwksURL, jwksFile *string
}

func addLTIFlags(fs *flag.FlagSet) ltiFlags {
	return ltiFlags{
		testIssuer: fs.Bool("lti-test-issuer", true, "accept LTI JWTs of the database's own test issuer (tokens from `interop tenant lti-token`; JWKS at "+lti.JWKSPath+"); ignored when --lti-issuer is set"),
		issuer:     fs.String("lti-issuer", "", "trust LTI JWTs of this external platform (its iss) instead of the test issuer; needs --lti-audience and --lti-jwks-url or --lti-jwks-file"),
		audience:   fs.String("lti-audience", "", "with --lti-issuer: the aud the platform's tokens carry (this tool's client id)"),
		jwksURL:    fs.String("lti-jwks-url", "", "with --lti-issuer: the platform's JWKS URL (fetched and cached; refetched for an unknown kid)"),
		jwksFile:   fs.String("lti-jwks-file", "", "with --lti-issuer: a file holding the platform's JWKS"),
	}
}

// ltiMode is how serve accepts LTI JWTs.
type ltiMode struct {
	authn auth.Authenticator // nil: OAuth2 only
	test  *lti.Issuer        // the test issuer, when it is the one
	desc  string
}

// build turns the flags into an authenticator; a usage mistake is a
// *usageError (exit 2).
func (f ltiFlags) build(ctx context.Context, st store.LTIKeyStore) (ltiMode, error) {
	external := *f.issuer != "" || *f.audience != "" || *f.jwksURL != "" || *f.jwksFile != ""
	if external {
		if *f.issuer == "" || *f.audience == "" || (*f.jwksURL == "") == (*f.jwksFile == "") {
			return ltiMode{}, usageError("--lti-issuer needs --lti-audience and exactly one of --lti-jwks-url and --lti-jwks-file")
		}
		a, err := auth.NewLTIJWT(auth.LTIJWTConfig{Issuer: *f.issuer, Audience: *f.audience, JWKSURL: *f.jwksURL, JWKSFile: *f.jwksFile})
		if err != nil {
			return ltiMode{}, usageError(err.Error())
		}
		src := *f.jwksURL
		if src == "" {
			src = *f.jwksFile
		}
		return ltiMode{authn: a, desc: fmt.Sprintf("LTI JWT: trusting issuer %s, audience %s, keys from %s", *f.issuer, *f.audience, src)}, nil
	}
	if !*f.testIssuer {
		return ltiMode{}, nil
	}
	is := lti.New(st)
	if _, err := is.Ensure(ctx); err != nil {
		return ltiMode{}, fmt.Errorf("LTI test issuer: %w", err)
	}
	return ltiMode{authn: is, test: is}, nil
}

// usageError is a flag combination serve refuses.
type usageError string

func (e usageError) Error() string { return string(e) }

// print says at start-up how LTI callers get in.
// tenant names the tenant of the example command ("" for a placeholder).
func (m ltiMode) print(w io.Writer, base, db, tenant string) {
	if tenant == "" {
		tenant = "NAME[,NAME...]"
	}
	switch {
	case m.test != nil:
		fmt.Fprintf(w, "  LTI JWT:   test issuer %s, audience %s, JWKS %s%s\n", lti.IssuerName, lti.Audience, base, lti.JWKSPath)
		fmt.Fprintf(w, "             get a token: interop tenant lti-token --db %s --tenant %s [--ttl 1h]\n", shellQuote(db), tenant)
	case m.authn != nil:
		fmt.Fprintf(w, "  %s\n", m.desc)
	}
}
