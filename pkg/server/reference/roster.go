package reference

import (
	"context"

	"github.com/interop-data/interop/gen"
	"github.com/interop-data/interop/pkg/server/store"
)

// The rostering and grades operations: each is a list or a find over one
// kind, optionally narrowed to a subtype or to the members of an org.

var (
	qOrgs     = store.ObjectQuery{Kind: store.KindOrg}
	qLEAs     = store.ObjectQuery{Kind: store.KindOrg, Subtype: store.SubtypeLEA}
	qSchools  = store.ObjectQuery{Kind: store.KindOrg, Subtype: store.SubtypeSchool}
	qPersons  = store.ObjectQuery{Kind: store.KindPerson}
	qStudents = store.ObjectQuery{Kind: store.KindPerson, Subtype: store.SubtypeStudent}
	qTeachers = store.ObjectQuery{Kind: store.KindPerson, Subtype: store.SubtypeTeacher}
	qCourses  = store.ObjectQuery{Kind: store.KindCourse}
	qSections = store.ObjectQuery{Kind: store.KindSection}
	qTerms    = store.ObjectQuery{Kind: store.KindTerm}
	qGrading  = store.ObjectQuery{Kind: store.KindGradingCategory}
)

// ListOrgs implements gen.StrictServerInterface.
func (h *Handler) ListOrgs(ctx context.Context, r gen.ListOrgsRequestObject) (gen.ListOrgsResponseObject, error) {
	data, paging, err := listObjects[gen.Org](ctx, h, qOrgs, r.Params.Page, r.Params.PageSize)
	if err != nil {
		return nil, err
	}
	return gen.ListOrgs200JSONResponse{OrgsPageJSONResponse: gen.OrgsPageJSONResponse{Data: data, Paging: paging}}, nil
}

// ListLEAs implements gen.StrictServerInterface.
func (h *Handler) ListLEAs(ctx context.Context, r gen.ListLEAsRequestObject) (gen.ListLEAsResponseObject, error) {
	data, paging, err := listObjects[gen.Org](ctx, h, qLEAs, r.Params.Page, r.Params.PageSize)
	if err != nil {
		return nil, err
	}
	return gen.ListLEAs200JSONResponse{OrgsPageJSONResponse: gen.OrgsPageJSONResponse{Data: data, Paging: paging}}, nil
}

// ListSchools implements gen.StrictServerInterface.
func (h *Handler) ListSchools(ctx context.Context, r gen.ListSchoolsRequestObject) (gen.ListSchoolsResponseObject, error) {
	data, paging, err := listObjects[gen.Org](ctx, h, qSchools, r.Params.Page, r.Params.PageSize)
	if err != nil {
		return nil, err
	}
	return gen.ListSchools200JSONResponse{OrgsPageJSONResponse: gen.OrgsPageJSONResponse{Data: data, Paging: paging}}, nil
}

// FindOrg implements gen.StrictServerInterface.
func (h *Handler) FindOrg(ctx context.Context, r gen.FindOrgRequestObject) (gen.FindOrgResponseObject, error) {
	o, err := findObject[gen.Org](ctx, h, store.KindOrg, "", r.Id, "org")
	if err != nil {
		return nil, err
	}
	return gen.FindOrg200JSONResponse{OrgFoundJSONResponse: gen.OrgFoundJSONResponse{Data: o}}, nil
}

// FindLEA implements gen.StrictServerInterface: an org that is not an LEA is 404.
func (h *Handler) FindLEA(ctx context.Context, r gen.FindLEARequestObject) (gen.FindLEAResponseObject, error) {
	o, err := findObject[gen.Org](ctx, h, store.KindOrg, store.SubtypeLEA, r.Id, "LEA")
	if err != nil {
		return nil, err
	}
	return gen.FindLEA200JSONResponse{OrgFoundJSONResponse: gen.OrgFoundJSONResponse{Data: o}}, nil
}

// ListStudentsForOrg implements gen.StrictServerInterface.
func (h *Handler) ListStudentsForOrg(ctx context.Context, r gen.ListStudentsForOrgRequestObject) (gen.ListStudentsForOrgResponseObject, error) {
	data, paging, err := listForOrg[gen.Person](ctx, h, r.Id, qStudents, r.Params.Page, r.Params.PageSize)
	if err != nil {
		return nil, err
	}
	return gen.ListStudentsForOrg200JSONResponse{PersonsPageJSONResponse: gen.PersonsPageJSONResponse{Data: data, Paging: paging}}, nil
}

// ListTeachersForOrg implements gen.StrictServerInterface.
func (h *Handler) ListTeachersForOrg(ctx context.Context, r gen.ListTeachersForOrgRequestObject) (gen.ListTeachersForOrgResponseObject, error) {
	data, paging, err := listForOrg[gen.Person](ctx, h, r.Id, qTeachers, r.Params.Page, r.Params.PageSize)
	if err != nil {
		return nil, err
	}
	return gen.ListTeachersForOrg200JSONResponse{PersonsPageJSONResponse: gen.PersonsPageJSONResponse{Data: data, Paging: paging}}, nil
}

// ListCoursesForOrg implements gen.StrictServerInterface.
func (h *Handler) ListCoursesForOrg(ctx context.Context, r gen.ListCoursesForOrgRequestObject) (gen.ListCoursesForOrgResponseObject, error) {
	data, paging, err := listForOrg[gen.Course](ctx, h, r.Id, qCourses, r.Params.Page, r.Params.PageSize)
	if err != nil {
		return nil, err
	}
	return gen.ListCoursesForOrg200JSONResponse{CoursesPageJSONResponse: gen.CoursesPageJSONResponse{Data: data, Paging: paging}}, nil
}

// ListSectionsForOrg implements gen.StrictServerInterface.
func (h *Handler) ListSectionsForOrg(ctx context.Context, r gen.ListSectionsForOrgRequestObject) (gen.ListSectionsForOrgResponseObject, error) {
	data, paging, err := listForOrg[gen.Section](ctx, h, r.Id, qSections, r.Params.Page, r.Params.PageSize)
	if err != nil {
		return nil, err
	}
	return gen.ListSectionsForOrg200JSONResponse{SectionsPageJSONResponse: gen.SectionsPageJSONResponse{Data: data, Paging: paging}}, nil
}

// ListTermsForOrg implements gen.StrictServerInterface.
func (h *Handler) ListTermsForOrg(ctx context.Context, r gen.ListTermsForOrgRequestObject) (gen.ListTermsForOrgResponseObject, error) {
	data, paging, err := listForOrg[gen.Term](ctx, h, r.Id, qTerms, r.Params.Page, r.Params.PageSize)
	if err != nil {
		return nil, err
	}
	return gen.ListTermsForOrg200JSONResponse{TermsPageJSONResponse: gen.TermsPageJSONResponse{Data: data, Paging: paging}}, nil
}

// ListPersons implements gen.StrictServerInterface.
func (h *Handler) ListPersons(ctx context.Context, r gen.ListPersonsRequestObject) (gen.ListPersonsResponseObject, error) {
	data, paging, err := listObjects[gen.Person](ctx, h, qPersons, r.Params.Page, r.Params.PageSize)
	if err != nil {
		return nil, err
	}
	return gen.ListPersons200JSONResponse{PersonsPageJSONResponse: gen.PersonsPageJSONResponse{Data: data, Paging: paging}}, nil
}

// ListStudents implements gen.StrictServerInterface.
func (h *Handler) ListStudents(ctx context.Context, r gen.ListStudentsRequestObject) (gen.ListStudentsResponseObject, error) {
	data, paging, err := listObjects[gen.Person](ctx, h, qStudents, r.Params.Page, r.Params.PageSize)
	if err != nil {
		return nil, err
	}
	return gen.ListStudents200JSONResponse{PersonsPageJSONResponse: gen.PersonsPageJSONResponse{Data: data, Paging: paging}}, nil
}

// ListTeachers implements gen.StrictServerInterface.
func (h *Handler) ListTeachers(ctx context.Context, r gen.ListTeachersRequestObject) (gen.ListTeachersResponseObject, error) {
	data, paging, err := listObjects[gen.Person](ctx, h, qTeachers, r.Params.Page, r.Params.PageSize)
	if err != nil {
		return nil, err
	}
	return gen.ListTeachers200JSONResponse{PersonsPageJSONResponse: gen.PersonsPageJSONResponse{Data: data, Paging: paging}}, nil
}

// FindPerson implements gen.StrictServerInterface.
func (h *Handler) FindPerson(ctx context.Context, r gen.FindPersonRequestObject) (gen.FindPersonResponseObject, error) {
	o, err := findObject[gen.Person](ctx, h, store.KindPerson, "", r.Id, "person")
	if err != nil {
		return nil, err
	}
	return gen.FindPerson200JSONResponse{PersonFoundJSONResponse: gen.PersonFoundJSONResponse{Data: o}}, nil
}

// ListCourses implements gen.StrictServerInterface.
func (h *Handler) ListCourses(ctx context.Context, r gen.ListCoursesRequestObject) (gen.ListCoursesResponseObject, error) {
	data, paging, err := listObjects[gen.Course](ctx, h, qCourses, r.Params.Page, r.Params.PageSize)
	if err != nil {
		return nil, err
	}
	return gen.ListCourses200JSONResponse{CoursesPageJSONResponse: gen.CoursesPageJSONResponse{Data: data, Paging: paging}}, nil
}

// FindCourse implements gen.StrictServerInterface.
func (h *Handler) FindCourse(ctx context.Context, r gen.FindCourseRequestObject) (gen.FindCourseResponseObject, error) {
	o, err := findObject[gen.Course](ctx, h, store.KindCourse, "", r.Id, "course")
	if err != nil {
		return nil, err
	}
	return gen.FindCourse200JSONResponse{CourseFoundJSONResponse: gen.CourseFoundJSONResponse{Data: o}}, nil
}

// ListSections implements gen.StrictServerInterface.
func (h *Handler) ListSections(ctx context.Context, r gen.ListSectionsRequestObject) (gen.ListSectionsResponseObject, error) {
	data, paging, err := listObjects[gen.Section](ctx, h, qSections, r.Params.Page, r.Params.PageSize)
	if err != nil {
		return nil, err
	}
	return gen.ListSections200JSONResponse{SectionsPageJSONResponse: gen.SectionsPageJSONResponse{Data: data, Paging: paging}}, nil
}

// FindSection implements gen.StrictServerInterface.
func (h *Handler) FindSection(ctx context.Context, r gen.FindSectionRequestObject) (gen.FindSectionResponseObject, error) {
	o, err := findObject[gen.Section](ctx, h, store.KindSection, "", r.Id, "section")
	if err != nil {
		return nil, err
	}
	return gen.FindSection200JSONResponse{SectionFoundJSONResponse: gen.SectionFoundJSONResponse{Data: o}}, nil
}

// ListTerms implements gen.StrictServerInterface.
func (h *Handler) ListTerms(ctx context.Context, r gen.ListTermsRequestObject) (gen.ListTermsResponseObject, error) {
	data, paging, err := listObjects[gen.Term](ctx, h, qTerms, r.Params.Page, r.Params.PageSize)
	if err != nil {
		return nil, err
	}
	return gen.ListTerms200JSONResponse{TermsPageJSONResponse: gen.TermsPageJSONResponse{Data: data, Paging: paging}}, nil
}

// FindTerm implements gen.StrictServerInterface.
func (h *Handler) FindTerm(ctx context.Context, r gen.FindTermRequestObject) (gen.FindTermResponseObject, error) {
	o, err := findObject[gen.Term](ctx, h, store.KindTerm, "", r.Id, "term")
	if err != nil {
		return nil, err
	}
	return gen.FindTerm200JSONResponse{TermFoundJSONResponse: gen.TermFoundJSONResponse{Data: o}}, nil
}

// ListGradingCategories implements gen.StrictServerInterface.
func (h *Handler) ListGradingCategories(ctx context.Context, r gen.ListGradingCategoriesRequestObject) (gen.ListGradingCategoriesResponseObject, error) {
	data, paging, err := listObjects[gen.GradingCategory](ctx, h, qGrading, r.Params.Page, r.Params.PageSize)
	if err != nil {
		return nil, err
	}
	return gen.ListGradingCategories200JSONResponse{Data: data, Paging: paging}, nil
}
