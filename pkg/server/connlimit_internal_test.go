package server

import (
	"net/http"
	"testing"
	"time"
)

// The newcomer's slot is taken from the connection idle longest; with none
// idle, from the new connection silent longest past quietGrace; a busy
// connection, or a new one inside its grace, is never given up.
func TestVictimIsIdleLongest(t *testing.T) {
	now := time.Unix(1000, 0)
	conn := func(st http.ConnState, ago time.Duration) *limitedConn {
		return &limitedConn{state: st, since: now.Add(-ago)}
	}
	l := newConnLimiter(nil, 4, func() {})
	busy := conn(http.StateActive, time.Hour)
	fresh := conn(http.StateNew, quietGrace/2)
	l.conns = map[*limitedConn]struct{}{busy: {}, fresh: {}}
	if v := l.victim(now); v != nil {
		t.Fatalf("victim among a busy and a fresh connection = %+v, want none", v)
	}
	quiet := conn(http.StateNew, 2*quietGrace)
	l.conns[quiet] = struct{}{}
	if v := l.victim(now); v != quiet {
		t.Fatalf("victim = %+v, want the silent new connection", v)
	}
	recent, oldest := conn(http.StateIdle, time.Second), conn(http.StateIdle, time.Minute)
	l.conns[recent], l.conns[oldest] = struct{}{}, struct{}{}
	if v := l.victim(now); v != oldest {
		t.Fatalf("victim = %+v, want the connection idle longest", v)
	}
}
