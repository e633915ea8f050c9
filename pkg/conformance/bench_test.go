package conformance_test

import (
	"testing"

	"github.com/interop-data/interop/pkg/conformance"
)

// BenchmarkSuiteReference: one op is one whole run of the suite, every group
// with two tenants and redelivery on the injected clock, against a fresh
// referencetest server (its setup untimed). Reported in docs/PERFORMANCE.md.
func BenchmarkSuiteReference(b *testing.B) {
	for b.Loop() {
		b.StopTimer()
		tg := referenceTarget(b)
		cfg := tg.serve(b, tg.inner)
		b.StartTimer()
		rep, err := conformance.Run(b.Context(), cfg)
		if err != nil {
			b.Fatal(err)
		}
		if !rep.OK() {
			b.Fatal("the suite fails against the reference server")
		}
	}
}
