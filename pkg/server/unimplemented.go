package server

import (
	"context"
	"net/http"

	"github.com/interop-data/interop/gen/apiserver"
)

// Unimplemented answers every operation with 501 not_implemented. Embed it in
// an implementation to satisfy apiserver.StrictServerInterface while only some
// operations exist, and to keep compiling when the spec gains operations.
type Unimplemented struct{}

var _ apiserver.StrictServerInterface = Unimplemented{}

func notImplemented(op string) *Error {
	return &Error{Status: http.StatusNotImplemented, Code: CodeNotImplemented, Message: "operation " + op + " is not implemented by this server"}
}

// ListGradingCategories answers 501.
func (Unimplemented) ListGradingCategories(context.Context, apiserver.ListGradingCategoriesRequestObject) (apiserver.ListGradingCategoriesResponseObject, error) {
	return nil, notImplemented("listGradingCategories")
}

// ListCourses answers 501.
func (Unimplemented) ListCourses(context.Context, apiserver.ListCoursesRequestObject) (apiserver.ListCoursesResponseObject, error) {
	return nil, notImplemented("listCourses")
}

// FindCourse answers 501.
func (Unimplemented) FindCourse(context.Context, apiserver.FindCourseRequestObject) (apiserver.FindCourseResponseObject, error) {
	return nil, notImplemented("findCourse")
}

// ListLEAs answers 501.
func (Unimplemented) ListLEAs(context.Context, apiserver.ListLEAsRequestObject) (apiserver.ListLEAsResponseObject, error) {
	return nil, notImplemented("listLEAs")
}

// FindLEA answers 501.
func (Unimplemented) FindLEA(context.Context, apiserver.FindLEARequestObject) (apiserver.FindLEAResponseObject, error) {
	return nil, notImplemented("findLEA")
}

// ListOrgs answers 501.
func (Unimplemented) ListOrgs(context.Context, apiserver.ListOrgsRequestObject) (apiserver.ListOrgsResponseObject, error) {
	return nil, notImplemented("listOrgs")
}

// FindOrg answers 501.
func (Unimplemented) FindOrg(context.Context, apiserver.FindOrgRequestObject) (apiserver.FindOrgResponseObject, error) {
	return nil, notImplemented("findOrg")
}

// ListCoursesForOrg answers 501.
func (Unimplemented) ListCoursesForOrg(context.Context, apiserver.ListCoursesForOrgRequestObject) (apiserver.ListCoursesForOrgResponseObject, error) {
	return nil, notImplemented("listCoursesForOrg")
}

// ListSectionsForOrg answers 501.
func (Unimplemented) ListSectionsForOrg(context.Context, apiserver.ListSectionsForOrgRequestObject) (apiserver.ListSectionsForOrgResponseObject, error) {
	return nil, notImplemented("listSectionsForOrg")
}

// ListStudentsForOrg answers 501.
func (Unimplemented) ListStudentsForOrg(context.Context, apiserver.ListStudentsForOrgRequestObject) (apiserver.ListStudentsForOrgResponseObject, error) {
	return nil, notImplemented("listStudentsForOrg")
}

// ListTeachersForOrg answers 501.
func (Unimplemented) ListTeachersForOrg(context.Context, apiserver.ListTeachersForOrgRequestObject) (apiserver.ListTeachersForOrgResponseObject, error) {
	return nil, notImplemented("listTeachersForOrg")
}

// ListTermsForOrg answers 501.
func (Unimplemented) ListTermsForOrg(context.Context, apiserver.ListTermsForOrgRequestObject) (apiserver.ListTermsForOrgResponseObject, error) {
	return nil, notImplemented("listTermsForOrg")
}

// ListPersons answers 501.
func (Unimplemented) ListPersons(context.Context, apiserver.ListPersonsRequestObject) (apiserver.ListPersonsResponseObject, error) {
	return nil, notImplemented("listPersons")
}

// FindPerson answers 501.
func (Unimplemented) FindPerson(context.Context, apiserver.FindPersonRequestObject) (apiserver.FindPersonResponseObject, error) {
	return nil, notImplemented("findPerson")
}

// ListSchools answers 501.
func (Unimplemented) ListSchools(context.Context, apiserver.ListSchoolsRequestObject) (apiserver.ListSchoolsResponseObject, error) {
	return nil, notImplemented("listSchools")
}

// ListSections answers 501.
func (Unimplemented) ListSections(context.Context, apiserver.ListSectionsRequestObject) (apiserver.ListSectionsResponseObject, error) {
	return nil, notImplemented("listSections")
}

// FindSection answers 501.
func (Unimplemented) FindSection(context.Context, apiserver.FindSectionRequestObject) (apiserver.FindSectionResponseObject, error) {
	return nil, notImplemented("findSection")
}

// ListStudents answers 501.
func (Unimplemented) ListStudents(context.Context, apiserver.ListStudentsRequestObject) (apiserver.ListStudentsResponseObject, error) {
	return nil, notImplemented("listStudents")
}

// ListTeachers answers 501.
func (Unimplemented) ListTeachers(context.Context, apiserver.ListTeachersRequestObject) (apiserver.ListTeachersResponseObject, error) {
	return nil, notImplemented("listTeachers")
}

// ListTerms answers 501.
func (Unimplemented) ListTerms(context.Context, apiserver.ListTermsRequestObject) (apiserver.ListTermsResponseObject, error) {
	return nil, notImplemented("listTerms")
}

// FindTerm answers 501.
func (Unimplemented) FindTerm(context.Context, apiserver.FindTermRequestObject) (apiserver.FindTermResponseObject, error) {
	return nil, notImplemented("findTerm")
}

// ListTasks answers 501.
func (Unimplemented) ListTasks(context.Context, apiserver.ListTasksRequestObject) (apiserver.ListTasksResponseObject, error) {
	return nil, notImplemented("listTasks")
}

// AcknowledgeTasks answers 501.
func (Unimplemented) AcknowledgeTasks(context.Context, apiserver.AcknowledgeTasksRequestObject) (apiserver.AcknowledgeTasksResponseObject, error) {
	return nil, notImplemented("acknowledgeTasks")
}

// ListAdminTasks answers 501.
func (Unimplemented) ListAdminTasks(context.Context, apiserver.ListAdminTasksRequestObject) (apiserver.ListAdminTasksResponseObject, error) {
	return nil, notImplemented("listAdminTasks")
}

// AcknowledgeAdminTasks answers 501.
func (Unimplemented) AcknowledgeAdminTasks(context.Context, apiserver.AcknowledgeAdminTasksRequestObject) (apiserver.AcknowledgeAdminTasksResponseObject, error) {
	return nil, notImplemented("acknowledgeAdminTasks")
}

// DeleteAdminTask answers 501.
func (Unimplemented) DeleteAdminTask(context.Context, apiserver.DeleteAdminTaskRequestObject) (apiserver.DeleteAdminTaskResponseObject, error) {
	return nil, notImplemented("deleteAdminTask")
}

// FindAdminTask answers 501.
func (Unimplemented) FindAdminTask(context.Context, apiserver.FindAdminTaskRequestObject) (apiserver.FindAdminTaskResponseObject, error) {
	return nil, notImplemented("findAdminTask")
}

// AcknowledgeAdminTask answers 501.
func (Unimplemented) AcknowledgeAdminTask(context.Context, apiserver.AcknowledgeAdminTaskRequestObject) (apiserver.AcknowledgeAdminTaskResponseObject, error) {
	return nil, notImplemented("acknowledgeAdminTask")
}

// AcknowledgeTask answers 501.
func (Unimplemented) AcknowledgeTask(context.Context, apiserver.AcknowledgeTaskRequestObject) (apiserver.AcknowledgeTaskResponseObject, error) {
	return nil, notImplemented("acknowledgeTask")
}
