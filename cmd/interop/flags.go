package main

import (
	"flag"
	"fmt"
	"strconv"
	"time"
)

// durationValue is flag.Duration with errors that say what to write: the
// flag package reports any bad duration as "parse error", and "5" (no unit)
// is the usual one.
type durationValue struct{ d *time.Duration }

func (v durationValue) String() string {
	if v.d == nil {
		return "0s"
	}
	return v.d.String()
}

func (v durationValue) Set(s string) error {
	d, err := time.ParseDuration(s)
	if err == nil {
		*v.d = d
		return nil
	}
	if _, nerr := strconv.ParseFloat(s, 64); nerr == nil {
		return fmt.Errorf("a duration needs a unit: %ss, %sm or %sh", s, s, s)
	}
	return fmt.Errorf("not a duration: write a number and a unit, such as 30s, 5m or 1h30m")
}

// durationFlag defines a duration flag whose errors say how to write one.
func durationFlag(fs *flag.FlagSet, name string, value time.Duration, usage string) *time.Duration {
	d := value
	// The backquoted word names the argument in -h, as flag.Duration's do.
	fs.Var(durationValue{&d}, name, usage+"; a `duration` such as 30s, 5m or 1h")
	return &d
}
