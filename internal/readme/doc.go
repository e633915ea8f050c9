// Package readme holds the test that every Go snippet of the repository's
// README.md compiles as written, imports included.
package readme
