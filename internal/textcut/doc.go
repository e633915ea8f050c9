// Package textcut cuts text to a size in bytes without splitting a
// character: the one rule behind the bounded messages of the contract's
// violations, the kit's error bodies and the client's acknowledgements.
package textcut
