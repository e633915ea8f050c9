// Package cputime reports the CPU time a benchmark's process spends per
// iteration (user and system, every thread: the garbage collector's
// included), beside the wall time Go reports. On a shared machine wall time
// counts the waits for a core; CPU time is what a request costs.
package cputime
