package oneroster

import (
	"context"

	"github.com/google/uuid"
)

// roster is what the builder reads once an export is staged and checked:
// the roster the tenant is to hold, each kind in ord order, each object with
// the lists it carries. The staging database (stage) answers it with
// ordered joins; the in-memory stage (memStage) from its slices. Each
// callback's record, and the slices in it, are reused for the next object:
// the builder copies what it keeps.
type roster interface {
	// orgs, sessions and courseTitles are the small kinds, read into
	// memory first.
	orgs(ctx context.Context, fn func(id uuid.UUID, o *orgInfo) error) error
	sessions(ctx context.Context, fn func(id uuid.UUID, t *sessionInfo) error) error
	courseTitles(ctx context.Context, fn func(id uuid.UUID, title string) error) error
	// termSchools is each term's schools: those of its classes, each
	// once, in the classes' order.
	termSchools(ctx context.Context, term uuid.UUID) ([]uuid.UUID, error)
	courses(ctx context.Context, fn func(*courseRec) error) error
	classes(ctx context.Context, fn func(*classRec) error) error
	users(ctx context.Context, fn func(*userRec) error) error
	categories(ctx context.Context, fn func(id uuid.UUID, sid, title string) error) error
	// deletions is the ids a delta file marks tobedeleted, in line order.
	deletions(ctx context.Context, file string) ([]uuid.UUID, error)
}

// courseRec is a course and its classes.
type courseRec struct {
	id, org          uuid.UUID
	sid, title, code string
	sections         []classRef
}

type classRef struct {
	id    uuid.UUID
	title string
}

// classRec is a class, its terms (in the row's order) and its enrollments
// with their users.
type classRec struct {
	id, course, school uuid.UUID
	sid, title, code   string
	terms              []uuid.UUID
	members            []memberRec
}

type memberRec struct {
	enrollment, user            uuid.UUID
	role, userRole, given, last string
}

// userRec is a user, its demographics, its orgs (in the row's order) and
// its enrollments with their classes.
type userRec struct {
	id                                                         uuid.UUID
	sid, role, given, family, middle, email, phone, identifier string
	birth, sex                                                 string
	orgs                                                       []uuid.UUID
	enrollments                                                []enrollmentRec
}

type enrollmentRec struct {
	id, class                             uuid.UUID
	sid, role, primary, begin, end, title string // title: the class's
}

// stager is where an export is read into, checked and merged with the
// tenant's rows before the builder reads it as a roster: the staging
// database (stage), or memory (memStage) for an export small enough.
type stager interface {
	roster
	// add stages a row read from the export; put a row of the export
	// (src 1) or one rebuilt from the tenant's objects (src 0).
	add(ctx context.Context, file string, v any) error
	put(ctx context.Context, v any, src int) error
	// seal ends the reading; merge makes the rows the roster the tenant is
	// to hold; references and duplicates check it; order readies it for
	// the builder.
	seal(ctx context.Context) error
	merge(ctx context.Context) error
	references(ctx context.Context, errs *errorList, m Manifest) error
	duplicates(ctx context.Context, errs *errorList) error
	order(ctx context.Context) error
	close()
}
