package server

import (
	"context"
	"net/http"

	"github.com/interop-data/interop/gen"
)

// Unimplemented answers every operation with 501 not_implemented. Embed it in
// an implementation to satisfy gen.StrictServerInterface while only some
// operations exist, and to keep compiling when the spec gains operations.
type Unimplemented struct{}

var _ gen.StrictServerInterface = Unimplemented{}

func notImplemented(op string) *Error {
	return &Error{Status: http.StatusNotImplemented, Code: CodeNotImplemented, Message: "operation " + op + " is not implemented by this server"}
}

// ListGradingCategories answers 501.
func (Unimplemented) ListGradingCategories(context.Context, gen.ListGradingCategoriesRequestObject) (gen.ListGradingCategoriesResponseObject, error) {
	return nil, notImplemented("listGradingCategories")
}

// ListCourses answers 501.
func (Unimplemented) ListCourses(context.Context, gen.ListCoursesRequestObject) (gen.ListCoursesResponseObject, error) {
	return nil, notImplemented("listCourses")
}

// FindCourse answers 501.
func (Unimplemented) FindCourse(context.Context, gen.FindCourseRequestObject) (gen.FindCourseResponseObject, error) {
	return nil, notImplemented("findCourse")
}

// ListLEAs answers 501.
func (Unimplemented) ListLEAs(context.Context, gen.ListLEAsRequestObject) (gen.ListLEAsResponseObject, error) {
	return nil, notImplemented("listLEAs")
}

// FindLEA answers 501.
func (Unimplemented) FindLEA(context.Context, gen.FindLEARequestObject) (gen.FindLEAResponseObject, error) {
	return nil, notImplemented("findLEA")
}

// ListOrgs answers 501.
func (Unimplemented) ListOrgs(context.Context, gen.ListOrgsRequestObject) (gen.ListOrgsResponseObject, error) {
	return nil, notImplemented("listOrgs")
}

// FindOrg answers 501.
func (Unimplemented) FindOrg(context.Context, gen.FindOrgRequestObject) (gen.FindOrgResponseObject, error) {
	return nil, notImplemented("findOrg")
}

// ListCoursesForOrg answers 501.
func (Unimplemented) ListCoursesForOrg(context.Context, gen.ListCoursesForOrgRequestObject) (gen.ListCoursesForOrgResponseObject, error) {
	return nil, notImplemented("listCoursesForOrg")
}

// ListSectionsForOrg answers 501.
func (Unimplemented) ListSectionsForOrg(context.Context, gen.ListSectionsForOrgRequestObject) (gen.ListSectionsForOrgResponseObject, error) {
	return nil, notImplemented("listSectionsForOrg")
}

// ListStudentsForOrg answers 501.
func (Unimplemented) ListStudentsForOrg(context.Context, gen.ListStudentsForOrgRequestObject) (gen.ListStudentsForOrgResponseObject, error) {
	return nil, notImplemented("listStudentsForOrg")
}

// ListTeachersForOrg answers 501.
func (Unimplemented) ListTeachersForOrg(context.Context, gen.ListTeachersForOrgRequestObject) (gen.ListTeachersForOrgResponseObject, error) {
	return nil, notImplemented("listTeachersForOrg")
}

// ListTermsForOrg answers 501.
func (Unimplemented) ListTermsForOrg(context.Context, gen.ListTermsForOrgRequestObject) (gen.ListTermsForOrgResponseObject, error) {
	return nil, notImplemented("listTermsForOrg")
}

// ListPersons answers 501.
func (Unimplemented) ListPersons(context.Context, gen.ListPersonsRequestObject) (gen.ListPersonsResponseObject, error) {
	return nil, notImplemented("listPersons")
}

// FindPerson answers 501.
func (Unimplemented) FindPerson(context.Context, gen.FindPersonRequestObject) (gen.FindPersonResponseObject, error) {
	return nil, notImplemented("findPerson")
}

// ListSchools answers 501.
func (Unimplemented) ListSchools(context.Context, gen.ListSchoolsRequestObject) (gen.ListSchoolsResponseObject, error) {
	return nil, notImplemented("listSchools")
}

// ListSections answers 501.
func (Unimplemented) ListSections(context.Context, gen.ListSectionsRequestObject) (gen.ListSectionsResponseObject, error) {
	return nil, notImplemented("listSections")
}

// FindSection answers 501.
func (Unimplemented) FindSection(context.Context, gen.FindSectionRequestObject) (gen.FindSectionResponseObject, error) {
	return nil, notImplemented("findSection")
}

// ListStudents answers 501.
func (Unimplemented) ListStudents(context.Context, gen.ListStudentsRequestObject) (gen.ListStudentsResponseObject, error) {
	return nil, notImplemented("listStudents")
}

// ListTeachers answers 501.
func (Unimplemented) ListTeachers(context.Context, gen.ListTeachersRequestObject) (gen.ListTeachersResponseObject, error) {
	return nil, notImplemented("listTeachers")
}

// ListTerms answers 501.
func (Unimplemented) ListTerms(context.Context, gen.ListTermsRequestObject) (gen.ListTermsResponseObject, error) {
	return nil, notImplemented("listTerms")
}

// FindTerm answers 501.
func (Unimplemented) FindTerm(context.Context, gen.FindTermRequestObject) (gen.FindTermResponseObject, error) {
	return nil, notImplemented("findTerm")
}

// ListTasks answers 501.
func (Unimplemented) ListTasks(context.Context, gen.ListTasksRequestObject) (gen.ListTasksResponseObject, error) {
	return nil, notImplemented("listTasks")
}

// AcknowledgeTasks answers 501.
func (Unimplemented) AcknowledgeTasks(context.Context, gen.AcknowledgeTasksRequestObject) (gen.AcknowledgeTasksResponseObject, error) {
	return nil, notImplemented("acknowledgeTasks")
}

// ListAdminTasks answers 501.
func (Unimplemented) ListAdminTasks(context.Context, gen.ListAdminTasksRequestObject) (gen.ListAdminTasksResponseObject, error) {
	return nil, notImplemented("listAdminTasks")
}

// AcknowledgeAdminTasks answers 501.
func (Unimplemented) AcknowledgeAdminTasks(context.Context, gen.AcknowledgeAdminTasksRequestObject) (gen.AcknowledgeAdminTasksResponseObject, error) {
	return nil, notImplemented("acknowledgeAdminTasks")
}

// DeleteAdminTask answers 501.
func (Unimplemented) DeleteAdminTask(context.Context, gen.DeleteAdminTaskRequestObject) (gen.DeleteAdminTaskResponseObject, error) {
	return nil, notImplemented("deleteAdminTask")
}

// FindAdminTask answers 501.
func (Unimplemented) FindAdminTask(context.Context, gen.FindAdminTaskRequestObject) (gen.FindAdminTaskResponseObject, error) {
	return nil, notImplemented("findAdminTask")
}

// AcknowledgeAdminTask answers 501.
func (Unimplemented) AcknowledgeAdminTask(context.Context, gen.AcknowledgeAdminTaskRequestObject) (gen.AcknowledgeAdminTaskResponseObject, error) {
	return nil, notImplemented("acknowledgeAdminTask")
}

// AcknowledgeTask answers 501.
func (Unimplemented) AcknowledgeTask(context.Context, gen.AcknowledgeTaskRequestObject) (gen.AcknowledgeTaskResponseObject, error) {
	return nil, notImplemented("acknowledgeTask")
}
