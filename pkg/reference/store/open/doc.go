// Package open opens the store a --db value names: a PostgreSQL database or
// a SQLite file. It is apart from package reference so that importers of the
// handler, the OneRoster loader or referencetest's helpers link only the
// drivers they open.
package open
