package client

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// A refused client secret says whose: a program may hold several clients,
// and "invalid_client" alone does not say which configuration to fix.
func TestRefusedCredentialsNameTheClientID(t *testing.T) {
	t.Parallel()
	f := newFakeAPI(t)
	c := f.client(t, nil, WithClientCredentials("district-42", "wrong", ""))
	_, err := c.FindPerson(context.Background(), personID)
	var ae *APIError
	if !errors.Is(err, ErrUnauthorized) || !errors.As(err, &ae) || ae.Code != "invalid_client" {
		t.Fatalf("err = %v", err)
	}
	if !strings.Contains(err.Error(), `refused client id "district-42"`) || strings.Contains(err.Error(), "wrong") {
		t.Errorf("the error names no client id, or shows the secret: %v", err)
	}
}
