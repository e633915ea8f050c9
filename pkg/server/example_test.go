package server_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/google/uuid"

	"github.com/interop-data/interop/gen/apiserver"
	"github.com/interop-data/interop/gen/models"
	"github.com/interop-data/interop/pkg/server"
	"github.com/interop-data/interop/pkg/server/auth"
)

// roster is a compatible server's business logic: one operation, the rest
// answered 501 by the embedded Unimplemented.
type roster struct{ server.Unimplemented }

func (roster) ListPersons(ctx context.Context, _ apiserver.ListPersonsRequestObject) (apiserver.ListPersonsResponseObject, error) {
	p, _ := auth.PrincipalFrom(ctx) // who is asking, and for which tenant
	_ = p.TenantIDs
	return apiserver.ListPersons200JSONResponse{PersonsPageJSONResponse: apiserver.PersonsPageJSONResponse{Data: []models.Person{}}}, nil
}

// A whole server: implement the strict interface, call New, serve.
func Example() {
	ctx, stop := context.WithCancel(context.Background())
	tenant := uuid.MustParse("5e0c8c53-8c6d-4e43-9a8f-6a1b6f1d2c11")
	clients := auth.NewMemoryClientStore(auth.Client{ID: "demo", TenantID: tenant, SecretHash: auth.HashSecret("demo-secret")})
	oauth := auth.NewOAuth2(clients, auth.NewMemoryTokenStore())
	srv, err := server.New(roster{}, server.WithTokenEndpoint(oauth), server.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		log.Fatal(err)
	}
	err = srv.ListenAndServe(ctx, "127.0.0.1:0", func(addr net.Addr) {
		go func() { defer stop(); callAPI("http://" + addr.String()) }()
	})
	fmt.Println("shut down:", err)
	// Output:
	// token: 200
	// persons: 200 {"data":[],"paging":{"next":null}}
	// shut down: <nil>
}

// callAPI is what a client does: get a token, call an operation.
func callAPI(base string) {
	resp, err := http.PostForm(base+"/oauth/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {"demo"}, "client_secret": {"demo-secret"}})
	if err != nil {
		log.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println("token:", resp.StatusCode)
	token := strings.Split(strings.Split(string(body), `"access_token":"`)[1], `"`)[0]
	req, _ := http.NewRequest("GET", base+"/v2/interop/data/rostering/persons", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println("persons:", resp.StatusCode, strings.TrimSpace(string(body)))
}
