//go:build !unix

package cputime

import (
	"testing"
	"time"
)

// Measure reports nothing where getrusage is missing.
func Measure(b *testing.B) func() { return func() {} }

// Now reports nothing where getrusage is missing.
func Now() (time.Duration, bool) { return 0, false }
