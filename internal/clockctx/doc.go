// Package clockctx carries a test's clock to the client of this module
// through a context, for tests outside package client (the listener's, the
// examples'): the client's retries and a consumer's pauses, ticker, grace
// and lease deadline then run on it. It is no part of the client's API.
package clockctx
