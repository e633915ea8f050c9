package server

import (
	"net"
	"net/http"
	"sync"
	"time"
)

// quietGrace is how long a new connection may stay without a request before
// a server at its connection limit may close it for a newcomer. A client
// sends its request as soon as it has connected; one that has sent nothing
// after this long is probably holding a slot on purpose (ReadHeader closes
// it anyway, later).
const quietGrace = time.Second

// connLimiter holds at most max connections of a listener open at once, like
// netutil.LimitListener, with one difference that matters under attack:
// when every slot is taken and a new client arrives, it closes an idle
// keep-alive connection (the one idle longest), or failing that a new one
// that has sent nothing for quietGrace, to make room, instead of leaving the
// newcomer in the accept queue until an attacker lets go. It learns the
// connections' states from http.Server.ConnState (trackState).
type connLimiter struct {
	net.Listener
	max  int
	shed func() // counts a connection closed to make room

	mu    sync.Mutex
	conns map[*limitedConn]struct{}
	wake  chan struct{} // a slot was freed or a connection went idle
	done  chan struct{} // the listener closed
	once  sync.Once
}

type limitedConn struct {
	net.Conn
	l     *connLimiter
	once  sync.Once
	state http.ConnState // guarded by l.mu
	since time.Time      // when it entered state; guarded by l.mu
}

func newConnLimiter(ln net.Listener, max int, shed func()) *connLimiter {
	return &connLimiter{Listener: ln, max: max, shed: shed, conns: make(map[*limitedConn]struct{}),
		wake: make(chan struct{}, 1), done: make(chan struct{})}
}

// Accept takes the next connection and holds it until a slot is free,
// making one by shedding an idle connection when it can.
func (l *connLimiter) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	for {
		l.mu.Lock()
		if len(l.conns) < l.max {
			lc := &limitedConn{Conn: c, l: l, state: http.StateNew, since: time.Now()}
			l.conns[lc] = struct{}{}
			l.mu.Unlock()
			return lc, nil
		}
		victim := l.victim(time.Now())
		if victim != nil {
			delete(l.conns, victim) // its slot is the newcomer's from now
		}
		l.mu.Unlock()
		if victim != nil {
			victim.Conn.Close()
			l.shed()
			continue
		}
		// Every connection is busy: wait for one to close or go idle. The
		// timer catches a new connection passing quietGrace.
		t := time.NewTimer(quietGrace / 4)
		select {
		case <-l.wake:
		case <-t.C:
		case <-l.done:
			t.Stop()
			c.Close()
			return nil, net.ErrClosed
		}
		t.Stop()
	}
}

// victim is the connection to close for a newcomer: the one idle longest,
// else the new one quiet longest past quietGrace, else nil. l.mu is held.
func (l *connLimiter) victim(now time.Time) *limitedConn {
	var idle, quiet *limitedConn
	for c := range l.conns {
		switch c.state {
		case http.StateIdle:
			if idle == nil || c.since.Before(idle.since) {
				idle = c
			}
		case http.StateNew:
			if now.Sub(c.since) >= quietGrace && (quiet == nil || c.since.Before(quiet.since)) {
				quiet = c
			}
		}
	}
	if idle != nil {
		return idle
	}
	return quiet
}

// trackState is the http.Server's ConnState hook.
func (l *connLimiter) trackState(c net.Conn, st http.ConnState) {
	lc, ok := c.(*limitedConn)
	if !ok {
		return
	}
	l.mu.Lock()
	lc.state, lc.since = st, time.Now()
	l.mu.Unlock()
	if st == http.StateIdle {
		l.signal()
	}
}

func (l *connLimiter) signal() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

func (l *connLimiter) Close() error {
	l.once.Do(func() { close(l.done) })
	return l.Listener.Close()
}

// Close frees the connection's slot once, however many times it is called.
func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		c.l.mu.Lock()
		delete(c.l.conns, c)
		c.l.mu.Unlock()
		c.l.signal()
	})
	return err
}
