//go:build !unix

package cputime

import "testing"

// Measure reports nothing where getrusage is missing.
func Measure(b *testing.B) func() { return func() {} }
