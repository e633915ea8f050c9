// Package readme holds no code: its tests run the steps of the repository's
// README.md as a newcomer would, from the text of the README itself. The Go
// snippets are built and run, the shell blocks are run with bash against a
// server started by `make run`, so a README that drifts from the code fails
// `make test`.
package readme
