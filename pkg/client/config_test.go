package client

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

// Issue 20/23: the consumer's configuration is checked when it is built.
// WithIdleBackoff(0, 0) used to poll an empty queue thousands of times a
// second and WithConsumerLogger(nil) to panic on the first warning.
func TestNewConsumerRefusesBadConfiguration(t *testing.T) {
	t.Parallel()
	f := newFakeAPI(t)
	c := f.client(t, nil)
	h := HandlerFuncs{Default: Ignore}
	for _, tc := range []struct {
		option string
		opt    ConsumerOption
	}{
		{"WithIdleBackoff", WithIdleBackoff(0, 0)},
		{"WithIdleBackoff", WithIdleBackoff(time.Second, time.Millisecond)},
		{"WithIdleBackoff", WithIdleBackoff(-time.Second, time.Second)},
		{"WithConsumerLogger", WithConsumerLogger(nil)},
		{"WithBatchSize", WithBatchSize(0)},
		{"WithBatchSize", WithBatchSize(2001)},
		{"WithConcurrency", WithConcurrency(0)},
		{"WithLease", WithLease(0)},
		{"WithFlushTimeout", WithFlushTimeout(0)},
		{"WithShutdownGrace", WithShutdownGrace(-time.Second)},
		{"WithAckFlush", WithAckFlush(0, time.Second)},
		{"WithAckFlush", WithAckFlush(maxGroup+1, time.Second)},
		{"WithAckFlush", WithAckFlush(10, 0)},
		{"WithTaskSchema", WithTaskSchema("")},
		{"WithDriver", WithDriver("")},
		{"WithTenant", WithTenant(uuid.Nil)},
		{"NewConsumer", nil},
	} {
		cons, err := NewConsumer(c, h, WithBatchSize(10), tc.opt)
		var ce *ConfigError
		if cons != nil || !errors.As(err, &ce) || ce.Option != tc.option || !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%s: NewConsumer = %v, %v; want a *ConfigError naming the option", tc.option, cons, err)
		}
	}
	if _, err := NewConsumer(nil, h); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("nil client: %v", err)
	}
	if _, err := NewConsumer(c, (*HandlerFuncs)(nil)); !errors.Is(err, ErrIncompleteHandler) {
		t.Errorf("nil *HandlerFuncs: %v", err)
	}
	// The limits themselves are good values.
	if _, err := NewConsumer(c, h, WithBatchSize(1), WithBatchSize(maxPageSize), WithIdleBackoff(time.Second, time.Second),
		WithShutdownGrace(0), WithAckFlush(maxGroup, time.Second), WithConcurrency(1)); err != nil {
		t.Errorf("good configuration refused: %v", err)
	}
}

// client.New's options can fail: a nil HTTP client or an empty URL is an
// error, not a nil-pointer panic on the first request.
func TestNewRefusesBadConfiguration(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, url, option string
		opts              []Option
	}{
		{"empty URL", "", "New", nil},
		{"nil HTTP client", "https://example.org/v2", "WithHTTPClient", []Option{WithHTTPClient(nil)}},
		{"nil logger", "https://example.org/v2", "WithLogger", []Option{WithLogger(nil)}},
		{"nil option", "https://example.org/v2", "New", []Option{nil}},
		{"negative policy", "https://example.org/v2", "WithRetryPolicy", []Option{WithRetryPolicy(RetryPolicy{BaseDelay: -1})}},
		{"empty token", "https://example.org/v2", "WithBearerToken", []Option{WithBearerToken("")}},
		{"empty client id", "https://example.org/v2", "WithClientCredentials", []Option{WithClientCredentials("", "s", "")}},
		{"nil JWT func", "https://example.org/v2", "WithLTIJWTFunc", []Option{WithLTIJWTFunc(nil)}},
		{"nil token source", "https://example.org/v2", "WithLTIJWT", []Option{WithLTIJWT(nil)}},
		{"negative refresh", "https://example.org/v2", "WithTokenRefreshAhead", []Option{WithTokenRefreshAhead(-time.Second)}},
		{"negative token timeout", "https://example.org/v2", "WithTokenTimeout", []Option{WithTokenTimeout(-time.Second)}},
	} {
		c, err := New(tc.url, tc.opts...)
		var ce *ConfigError
		if c != nil || !errors.As(err, &ce) || ce.Option != tc.option || !strings.Contains(err.Error(), tc.option) {
			t.Errorf("%s: New = %v, %v", tc.name, c, err)
		}
	}
}
