//go:build !unix

package cputime

import (
	"testing"
	"time"
)

// Measure reports nothing where getrusage is missing.
func Measure(b *testing.B) func() { return func() {} }

// Process reports nothing where getrusage is missing.
func Process() (time.Duration, bool) { return 0, false }
