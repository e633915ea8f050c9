package client

import (
	"context"
	"iter"
	"net/http"

	"github.com/google/uuid"

	"github.com/interop-data/interop/gen/apiclient"
	"github.com/interop-data/interop/gen/models"
)

// Orgs iterates over every org (LEAs and schools) (listOrgs).
func (c *Client) Orgs(ctx context.Context, opts *ListOptions) iter.Seq2[models.Org, error] {
	return walk[models.Org](c, ctx, "listOrgs", func(server string) (*http.Request, error) {
		page, size := opts.params()
		return apiclient.NewListOrgsRequest(server, &models.ListOrgsParams{Page: page, PageSize: size})
	})
}

// LEAs iterates over every LEA-type org (listLEAs).
func (c *Client) LEAs(ctx context.Context, opts *ListOptions) iter.Seq2[models.Org, error] {
	return walk[models.Org](c, ctx, "listLEAs", func(server string) (*http.Request, error) {
		page, size := opts.params()
		return apiclient.NewListLEAsRequest(server, &models.ListLEAsParams{Page: page, PageSize: size})
	})
}

// Schools iterates over every school-type org (listSchools).
func (c *Client) Schools(ctx context.Context, opts *ListOptions) iter.Seq2[models.Org, error] {
	return walk[models.Org](c, ctx, "listSchools", func(server string) (*http.Request, error) {
		page, size := opts.params()
		return apiclient.NewListSchoolsRequest(server, &models.ListSchoolsParams{Page: page, PageSize: size})
	})
}

// Persons iterates over every person (listPersons).
func (c *Client) Persons(ctx context.Context, opts *ListOptions) iter.Seq2[models.Person, error] {
	return walk[models.Person](c, ctx, "listPersons", func(server string) (*http.Request, error) {
		page, size := opts.params()
		return apiclient.NewListPersonsRequest(server, &models.ListPersonsParams{Page: page, PageSize: size})
	})
}

// Students iterates over every student (listStudents).
func (c *Client) Students(ctx context.Context, opts *ListOptions) iter.Seq2[models.Person, error] {
	return walk[models.Person](c, ctx, "listStudents", func(server string) (*http.Request, error) {
		page, size := opts.params()
		return apiclient.NewListStudentsRequest(server, &models.ListStudentsParams{Page: page, PageSize: size})
	})
}

// Teachers iterates over every teacher (listTeachers).
func (c *Client) Teachers(ctx context.Context, opts *ListOptions) iter.Seq2[models.Person, error] {
	return walk[models.Person](c, ctx, "listTeachers", func(server string) (*http.Request, error) {
		page, size := opts.params()
		return apiclient.NewListTeachersRequest(server, &models.ListTeachersParams{Page: page, PageSize: size})
	})
}

// Courses iterates over every course (listCourses).
func (c *Client) Courses(ctx context.Context, opts *ListOptions) iter.Seq2[models.Course, error] {
	return walk[models.Course](c, ctx, "listCourses", func(server string) (*http.Request, error) {
		page, size := opts.params()
		return apiclient.NewListCoursesRequest(server, &models.ListCoursesParams{Page: page, PageSize: size})
	})
}

// Sections iterates over every section (listSections).
func (c *Client) Sections(ctx context.Context, opts *ListOptions) iter.Seq2[models.Section, error] {
	return walk[models.Section](c, ctx, "listSections", func(server string) (*http.Request, error) {
		page, size := opts.params()
		return apiclient.NewListSectionsRequest(server, &models.ListSectionsParams{Page: page, PageSize: size})
	})
}

// Terms iterates over every term (listTerms).
func (c *Client) Terms(ctx context.Context, opts *ListOptions) iter.Seq2[models.Term, error] {
	return walk[models.Term](c, ctx, "listTerms", func(server string) (*http.Request, error) {
		page, size := opts.params()
		return apiclient.NewListTermsRequest(server, &models.ListTermsParams{Page: page, PageSize: size})
	})
}

// GradingCategories iterates over every grading category (listGradingCategories).
func (c *Client) GradingCategories(ctx context.Context, opts *ListOptions) iter.Seq2[models.GradingCategory, error] {
	return walk[models.GradingCategory](c, ctx, "listGradingCategories", func(server string) (*http.Request, error) {
		page, size := opts.params()
		return apiclient.NewListGradingCategoriesRequest(server, &models.ListGradingCategoriesParams{Page: page, PageSize: size})
	})
}

// StudentsForOrg iterates over every student member of the org (listStudentsForOrg). An unknown org id yields an error
// matching ErrNotFound.
func (c *Client) StudentsForOrg(ctx context.Context, orgID uuid.UUID, opts *ListOptions) iter.Seq2[models.Person, error] {
	return walk[models.Person](c, ctx, "listStudentsForOrg", func(server string) (*http.Request, error) {
		page, size := opts.params()
		return apiclient.NewListStudentsForOrgRequest(server, orgID, &models.ListStudentsForOrgParams{Page: page, PageSize: size})
	})
}

// TeachersForOrg iterates over every teacher member of the org (listTeachersForOrg). An unknown org id yields an error
// matching ErrNotFound.
func (c *Client) TeachersForOrg(ctx context.Context, orgID uuid.UUID, opts *ListOptions) iter.Seq2[models.Person, error] {
	return walk[models.Person](c, ctx, "listTeachersForOrg", func(server string) (*http.Request, error) {
		page, size := opts.params()
		return apiclient.NewListTeachersForOrgRequest(server, orgID, &models.ListTeachersForOrgParams{Page: page, PageSize: size})
	})
}

// CoursesForOrg iterates over every course of the org (listCoursesForOrg). An unknown org id yields an error
// matching ErrNotFound.
func (c *Client) CoursesForOrg(ctx context.Context, orgID uuid.UUID, opts *ListOptions) iter.Seq2[models.Course, error] {
	return walk[models.Course](c, ctx, "listCoursesForOrg", func(server string) (*http.Request, error) {
		page, size := opts.params()
		return apiclient.NewListCoursesForOrgRequest(server, orgID, &models.ListCoursesForOrgParams{Page: page, PageSize: size})
	})
}

// SectionsForOrg iterates over every section of the org (listSectionsForOrg). An unknown org id yields an error
// matching ErrNotFound.
func (c *Client) SectionsForOrg(ctx context.Context, orgID uuid.UUID, opts *ListOptions) iter.Seq2[models.Section, error] {
	return walk[models.Section](c, ctx, "listSectionsForOrg", func(server string) (*http.Request, error) {
		page, size := opts.params()
		return apiclient.NewListSectionsForOrgRequest(server, orgID, &models.ListSectionsForOrgParams{Page: page, PageSize: size})
	})
}

// TermsForOrg iterates over every term of the org (listTermsForOrg). An unknown org id yields an error
// matching ErrNotFound.
func (c *Client) TermsForOrg(ctx context.Context, orgID uuid.UUID, opts *ListOptions) iter.Seq2[models.Term, error] {
	return walk[models.Term](c, ctx, "listTermsForOrg", func(server string) (*http.Request, error) {
		page, size := opts.params()
		return apiclient.NewListTermsForOrgRequest(server, orgID, &models.ListTermsForOrgParams{Page: page, PageSize: size})
	})
}

// FindOrg returns the org with $sys.id id (findOrg), or an error matching
// ErrNotFound.
func (c *Client) FindOrg(ctx context.Context, id uuid.UUID) (*models.Org, error) {
	req, err := apiclient.NewFindOrgRequest(c.server, id)
	return fetch[models.Org](c, ctx, "findOrg", req, err)
}

// FindLEA returns the LEA-type org (a school's id is not found here) with $sys.id id (findLEA), or an error matching
// ErrNotFound.
func (c *Client) FindLEA(ctx context.Context, id uuid.UUID) (*models.Org, error) {
	req, err := apiclient.NewFindLEARequest(c.server, id)
	return fetch[models.Org](c, ctx, "findLEA", req, err)
}

// FindPerson returns the person with $sys.id id (findPerson), or an error matching
// ErrNotFound.
func (c *Client) FindPerson(ctx context.Context, id uuid.UUID) (*models.Person, error) {
	req, err := apiclient.NewFindPersonRequest(c.server, id)
	return fetch[models.Person](c, ctx, "findPerson", req, err)
}

// FindCourse returns the course with $sys.id id (findCourse), or an error matching
// ErrNotFound.
func (c *Client) FindCourse(ctx context.Context, id uuid.UUID) (*models.Course, error) {
	req, err := apiclient.NewFindCourseRequest(c.server, id)
	return fetch[models.Course](c, ctx, "findCourse", req, err)
}

// FindSection returns the section with $sys.id id (findSection), or an error matching
// ErrNotFound.
func (c *Client) FindSection(ctx context.Context, id uuid.UUID) (*models.Section, error) {
	req, err := apiclient.NewFindSectionRequest(c.server, id)
	return fetch[models.Section](c, ctx, "findSection", req, err)
}

// FindTerm returns the term with $sys.id id (findTerm), or an error matching
// ErrNotFound.
func (c *Client) FindTerm(ctx context.Context, id uuid.UUID) (*models.Term, error) {
	req, err := apiclient.NewFindTermRequest(c.server, id)
	return fetch[models.Term](c, ctx, "findTerm", req, err)
}
