package store

import "time"

// UnixNanos is how both stores keep a time: Unix nanoseconds, exact, ordered
// and cheap to compare in SQL; the zero time is 0.
func UnixNanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// FromUnixNanos is the time UnixNanos kept, in UTC; 0 is the zero time.
func FromUnixNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}
