package server

import "log/slog"

// WithAccessLogLevel sets the level of the line logged for each request
// (default slog.LevelInfo). A request that ends in a server failure (a 5xx
// other than 501) is logged at slog.LevelError whatever this says, so that
// slog.LevelDebug keeps a busy server's log to what needs attention without
// hiding failures.
func WithAccessLogLevel(l slog.Level) Option { return func(s *Server) { s.accessLevel = l } }
