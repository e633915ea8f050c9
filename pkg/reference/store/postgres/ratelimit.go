package postgres

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/interop-data/interop/pkg/reference/store"
)

// takeRate refills the bucket to now and takes a token, in one statement:
// the row lock of the upsert makes replicas taking from one bucket at once
// take turns. A bucket without enough for a token is left as it was (the
// WHERE refuses the update, and nothing is returned). Time never runs
// backwards for a bucket: a replica whose clock is behind refills nothing.
const takeRate = `INSERT INTO rate_buckets AS b (key, tokens, at) VALUES ($1, $3::float8 - 1, $4)
	ON CONFLICT (key) DO UPDATE
		SET tokens = LEAST($3::float8, b.tokens + GREATEST(0, $4 - b.at)::float8 / 1e9 * $2) - 1,
			at = GREATEST(b.at, $4)
		WHERE LEAST($3::float8, b.tokens + GREATEST(0, $4 - b.at)::float8 / 1e9 * $2) >= 1
	RETURNING tokens`

// TakeRateToken implements server.SharedLimiter (package reference plugs
// it in): the buckets are rows of rate_buckets, shared by every replica on
// the database. A refused request costs a second, read-only statement, to
// say how long to wait.
func (s *Store) TakeRateToken(ctx context.Context, key string, perSecond float64, burst int, now time.Time) (time.Duration, error) {
	if !store.Storable(key) || perSecond <= 0 || burst < 1 {
		return 0, fmt.Errorf("postgres: rate limit: bad bucket %q (%v/s, burst %d)", key, perSecond, burst)
	}
	s.sweepRates(ctx, perSecond, burst, now)
	nanos := store.UnixNanos(now)
	var left float64
	err := s.pool.QueryRow(ctx, takeRate, key, perSecond, burst, nanos).Scan(&left)
	if err == nil {
		return 0, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return 0, fmt.Errorf("postgres: rate limit: %w", err)
	}
	var tokens float64
	var at int64
	if err := s.pool.QueryRow(ctx, `SELECT tokens, at FROM rate_buckets WHERE key = $1`, key).Scan(&tokens, &at); err != nil {
		return 0, fmt.Errorf("postgres: rate limit: %w", err)
	}
	level := math.Min(float64(burst), tokens+math.Max(0, float64(nanos-at))/1e9*perSecond)
	wait := time.Duration((1 - level) / perSecond * float64(time.Second))
	return max(wait, time.Nanosecond), nil
}

// sweepRates drops, at most once a minute per process, the buckets idle
// long enough to be full again (burst/perSecond, at least a minute): for
// their callers that is the same as a fresh bucket, and the table keeps
// only the clients seen lately.
func (s *Store) sweepRates(ctx context.Context, perSecond float64, burst int, now time.Time) {
	s.sweepMu.Lock()
	if now.Sub(s.lastSweep) < time.Minute {
		s.sweepMu.Unlock()
		return
	}
	s.lastSweep = now
	s.sweepMu.Unlock()
	idle := max(time.Minute, time.Duration(float64(burst)/perSecond*float64(time.Second)))
	// Best effort: a failed sweep leaves full buckets, which are harmless.
	_, _ = s.pool.Exec(ctx, `DELETE FROM rate_buckets WHERE at < $1`, store.UnixNanos(now.Add(-idle)))
}
