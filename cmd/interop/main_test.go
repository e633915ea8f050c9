package main

import (
	"os"
	"testing"
)

// runMainEnv makes the test binary run the interop command instead of the
// tests, so that a test can start real `interop serve` processes (and kill
// them) without building the binary first.
const runMainEnv = "INTEROP_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(floorEnv) == "1" {
		os.Exit(pageFloor())
	}
	if os.Getenv(runMainEnv) == "1" {
		if p := os.Getenv(cpuProfileEnv); p != "" {
			os.Exit(runProfiled(p))
		}
		main()
		return
	}
	os.Exit(m.Run())
}
