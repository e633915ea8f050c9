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
