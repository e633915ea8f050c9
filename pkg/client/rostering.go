package client

import (
	"context"
	"iter"
	"net/http"

	"github.com/google/uuid"

	"github.com/interop-data/interop/gen"
)

// Orgs iterates over every org (LEAs and schools) (listOrgs).
func (c *Client) Orgs(ctx context.Context, opts *ListOptions) iter.Seq2[gen.Org, error] {
	return walk[gen.Org](c, ctx, "listOrgs", func(server string) (*http.Request, error) {
		page, size := opts.params()
		return gen.NewListOrgsRequest(server, &gen.ListOrgsParams{Page: page, PageSize: size})
	})
}

// LEAs iterates over every LEA-type org (listLEAs).
func (c *Client) LEAs(ctx context.Context, opts *ListOptions) iter.Seq2[gen.Org, error] {
	return walk[gen.Org](c, ctx, "listLEAs", func(server string) (*http.Request, error) {
		page, size := opts.params()
		return gen.NewListLEAsRequest(server, &gen.ListLEAsParams{Page: page, PageSize: size})
	})
}

// Schools iterates over every school-type org (listSchools).
func (c *Client) Schools(ctx context.Context, opts *ListOptions) iter.Seq2[gen.Org, error] {
	return walk[gen.Org](c, ctx, "listSchools", func(server string) (*http.Request, error) {
		page, size := opts.params()
		return gen.NewListSchoolsRequest(server, &gen.ListSchoolsParams{Page: page, PageSize: size})
	})
}

// Persons iterates over every person (listPersons).
func (c *Client) Persons(ctx context.Context, opts *ListOptions) iter.Seq2[gen.Person, error] {
	return walk[gen.Person](c, ctx, "listPersons", func(server string) (*http.Request, error) {
		page, size := opts.params()
		return gen.NewListPersonsRequest(server, &gen.ListPersonsParams{Page: page, PageSize: size})
	})
}

// Students iterates over every student (listStudents).
func (c *Client) Students(ctx context.Context, opts *ListOptions) iter.Seq2[gen.Person, error] {
	return walk[gen.Person](c, ctx, "listStudents", func(server string) (*http.Request, error) {
		page, size := opts.params()
		return gen.NewListStudentsRequest(server, &gen.ListStudentsParams{Page: page, PageSize: size})
	})
}

// Teachers iterates over every teacher (listTeachers).
func (c *Client) Teachers(ctx context.Context, opts *ListOptions) iter.Seq2[gen.Person, error] {
	return walk[gen.Person](c, ctx, "listTeachers", func(server string) (*http.Request, error) {
		page, size := opts.params()
		return gen.NewListTeachersRequest(server, &gen.ListTeachersParams{Page: page, PageSize: size})
	})
}

// Courses iterates over every course (listCourses).
func (c *Client) Courses(ctx context.Context, opts *ListOptions) iter.Seq2[gen.Course, error] {
	return walk[gen.Course](c, ctx, "listCourses", func(server string) (*http.Request, error) {
		page, size := opts.params()
		return gen.NewListCoursesRequest(server, &gen.ListCoursesParams{Page: page, PageSize: size})
	})
}

// Sections iterates over every section (listSections).
func (c *Client) Sections(ctx context.Context, opts *ListOptions) iter.Seq2[gen.Section, error] {
	return walk[gen.Section](c, ctx, "listSections", func(server string) (*http.Request, error) {
		page, size := opts.params()
		return gen.NewListSectionsRequest(server, &gen.ListSectionsParams{Page: page, PageSize: size})
	})
}

// Terms iterates over every term (listTerms).
func (c *Client) Terms(ctx context.Context, opts *ListOptions) iter.Seq2[gen.Term, error] {
	return walk[gen.Term](c, ctx, "listTerms", func(server string) (*http.Request, error) {
		page, size := opts.params()
		return gen.NewListTermsRequest(server, &gen.ListTermsParams{Page: page, PageSize: size})
	})
}

// GradingCategories iterates over every grading category (listGradingCategories).
func (c *Client) GradingCategories(ctx context.Context, opts *ListOptions) iter.Seq2[gen.GradingCategory, error] {
	return walk[gen.GradingCategory](c, ctx, "listGradingCategories", func(server string) (*http.Request, error) {
		page, size := opts.params()
		return gen.NewListGradingCategoriesRequest(server, &gen.ListGradingCategoriesParams{Page: page, PageSize: size})
	})
}

// StudentsForOrg iterates over every student member of the org (listStudentsForOrg). An unknown org id yields an error
// matching ErrNotFound.
func (c *Client) StudentsForOrg(ctx context.Context, orgID uuid.UUID, opts *ListOptions) iter.Seq2[gen.Person, error] {
	return walk[gen.Person](c, ctx, "listStudentsForOrg", func(server string) (*http.Request, error) {
		page, size := opts.params()
		return gen.NewListStudentsForOrgRequest(server, orgID, &gen.ListStudentsForOrgParams{Page: page, PageSize: size})
	})
}

// TeachersForOrg iterates over every teacher member of the org (listTeachersForOrg). An unknown org id yields an error
// matching ErrNotFound.
func (c *Client) TeachersForOrg(ctx context.Context, orgID uuid.UUID, opts *ListOptions) iter.Seq2[gen.Person, error] {
	return walk[gen.Person](c, ctx, "listTeachersForOrg", func(server string) (*http.Request, error) {
		page, size := opts.params()
		return gen.NewListTeachersForOrgRequest(server, orgID, &gen.ListTeachersForOrgParams{Page: page, PageSize: size})
	})
}

// CoursesForOrg iterates over every course of the org (listCoursesForOrg). An unknown org id yields an error
// matching ErrNotFound.
func (c *Client) CoursesForOrg(ctx context.Context, orgID uuid.UUID, opts *ListOptions) iter.Seq2[gen.Course, error] {
	return walk[gen.Course](c, ctx, "listCoursesForOrg", func(server string) (*http.Request, error) {
		page, size := opts.params()
		return gen.NewListCoursesForOrgRequest(server, orgID, &gen.ListCoursesForOrgParams{Page: page, PageSize: size})
	})
}

// SectionsForOrg iterates over every section of the org (listSectionsForOrg). An unknown org id yields an error
// matching ErrNotFound.
func (c *Client) SectionsForOrg(ctx context.Context, orgID uuid.UUID, opts *ListOptions) iter.Seq2[gen.Section, error] {
	return walk[gen.Section](c, ctx, "listSectionsForOrg", func(server string) (*http.Request, error) {
		page, size := opts.params()
		return gen.NewListSectionsForOrgRequest(server, orgID, &gen.ListSectionsForOrgParams{Page: page, PageSize: size})
	})
}

// TermsForOrg iterates over every term of the org (listTermsForOrg). An unknown org id yields an error
// matching ErrNotFound.
func (c *Client) TermsForOrg(ctx context.Context, orgID uuid.UUID, opts *ListOptions) iter.Seq2[gen.Term, error] {
	return walk[gen.Term](c, ctx, "listTermsForOrg", func(server string) (*http.Request, error) {
		page, size := opts.params()
		return gen.NewListTermsForOrgRequest(server, orgID, &gen.ListTermsForOrgParams{Page: page, PageSize: size})
	})
}

// FindOrg returns the org with $sys.id id (findOrg), or an error matching
// ErrNotFound.
func (c *Client) FindOrg(ctx context.Context, id uuid.UUID) (*gen.Org, error) {
	req, err := gen.NewFindOrgRequest(c.server, id)
	return fetch[gen.Org](c, ctx, "findOrg", req, err)
}

// FindLEA returns the LEA-type org (a school's id is not found here) with $sys.id id (findLEA), or an error matching
// ErrNotFound.
func (c *Client) FindLEA(ctx context.Context, id uuid.UUID) (*gen.Org, error) {
	req, err := gen.NewFindLEARequest(c.server, id)
	return fetch[gen.Org](c, ctx, "findLEA", req, err)
}

// FindPerson returns the person with $sys.id id (findPerson), or an error matching
// ErrNotFound.
func (c *Client) FindPerson(ctx context.Context, id uuid.UUID) (*gen.Person, error) {
	req, err := gen.NewFindPersonRequest(c.server, id)
	return fetch[gen.Person](c, ctx, "findPerson", req, err)
}

// FindCourse returns the course with $sys.id id (findCourse), or an error matching
// ErrNotFound.
func (c *Client) FindCourse(ctx context.Context, id uuid.UUID) (*gen.Course, error) {
	req, err := gen.NewFindCourseRequest(c.server, id)
	return fetch[gen.Course](c, ctx, "findCourse", req, err)
}

// FindSection returns the section with $sys.id id (findSection), or an error matching
// ErrNotFound.
func (c *Client) FindSection(ctx context.Context, id uuid.UUID) (*gen.Section, error) {
	req, err := gen.NewFindSectionRequest(c.server, id)
	return fetch[gen.Section](c, ctx, "findSection", req, err)
}

// FindTerm returns the term with $sys.id id (findTerm), or an error matching
// ErrNotFound.
func (c *Client) FindTerm(ctx context.Context, id uuid.UUID) (*gen.Term, error) {
	req, err := gen.NewFindTermRequest(c.server, id)
	return fetch[gen.Term](c, ctx, "findTerm", req, err)
}
