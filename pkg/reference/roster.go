package reference

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"sync"

	"github.com/interop-data/interop/gen/apiserver"
	"github.com/interop-data/interop/gen/models"
	"github.com/interop-data/interop/pkg/reference/store"
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

// rawPage is a list answer written straight from the stored JSON. The store
// keeps every object exactly as the API renders it (store.Object.Data), so
// decoding each one into its generated type only to encode it again was
// wasted work: most of a page's cost when response validation is off. The
// kit's response validation, when on, still checks what is written. One
// type serves every list operation.
type rawPage struct {
	objs []store.Object
	next *string
}

func (p rawPage) write(w http.ResponseWriter) error {
	paging, err := json.Marshal(models.Paging{Next: p.next})
	if err != nil {
		return err
	}
	n := len(`{"data":[],"paging":}`) + len(paging) + 1
	for _, o := range p.objs {
		n += len(o.Data) + 1
	}
	bp := pageBufs.Get().(*[]byte)
	b := (*bp)[:0]
	if cap(b) < n {
		b = make([]byte, 0, n)
	}
	b = append(b, `{"data":[`...)
	for i, o := range p.objs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, o.Data...)
	}
	b = append(b, `],"paging":`...)
	b = append(b, paging...)
	b = append(b, "}\n"...)
	err = writeJSON(w, b)
	if cap(b) <= maxPooledPage {
		*bp = b
		pageBufs.Put(bp)
	}
	return err
}

// pageBufs recycles the buffers pages are built in: the writer is done
// with the bytes once Write returns (net/http and the kit's response
// capture copy them), and a page is tens of kilobytes the collector would
// otherwise scan and free on every request.
var pageBufs = sync.Pool{New: func() any { return new([]byte) }}

// maxPooledPage is the largest buffer pageBufs keeps (a full page of 2000
// persons is about a megabyte).
const maxPooledPage = 2 << 20

// rawFound is a find answer, {"data": stored JSON}, for every find operation.
type rawFound struct{ data json.RawMessage }

func (f rawFound) write(w http.ResponseWriter) error {
	b := make([]byte, 0, len(f.data)+len(`{"data":}`)+1)
	b = append(b, `{"data":`...)
	b = append(b, f.data...)
	b = append(b, "}\n"...)
	return writeJSON(w, b)
}

// writeJSON sends b with its length declared: net/http then writes it
// as is instead of in chunks, in fewer writes to the socket. (A response
// the kit replaces with an error drops the length: writeError.)
func writeJSON(w http.ResponseWriter, b []byte) error {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	_, err := w.Write(b)
	return err
}

func (p rawPage) VisitListOrgsResponse(w http.ResponseWriter) error              { return p.write(w) }
func (p rawPage) VisitListLEAsResponse(w http.ResponseWriter) error              { return p.write(w) }
func (p rawPage) VisitListSchoolsResponse(w http.ResponseWriter) error           { return p.write(w) }
func (p rawPage) VisitListStudentsForOrgResponse(w http.ResponseWriter) error    { return p.write(w) }
func (p rawPage) VisitListTeachersForOrgResponse(w http.ResponseWriter) error    { return p.write(w) }
func (p rawPage) VisitListCoursesForOrgResponse(w http.ResponseWriter) error     { return p.write(w) }
func (p rawPage) VisitListSectionsForOrgResponse(w http.ResponseWriter) error    { return p.write(w) }
func (p rawPage) VisitListTermsForOrgResponse(w http.ResponseWriter) error       { return p.write(w) }
func (p rawPage) VisitListPersonsResponse(w http.ResponseWriter) error           { return p.write(w) }
func (p rawPage) VisitListStudentsResponse(w http.ResponseWriter) error          { return p.write(w) }
func (p rawPage) VisitListTeachersResponse(w http.ResponseWriter) error          { return p.write(w) }
func (p rawPage) VisitListCoursesResponse(w http.ResponseWriter) error           { return p.write(w) }
func (p rawPage) VisitListSectionsResponse(w http.ResponseWriter) error          { return p.write(w) }
func (p rawPage) VisitListTermsResponse(w http.ResponseWriter) error             { return p.write(w) }
func (p rawPage) VisitListGradingCategoriesResponse(w http.ResponseWriter) error { return p.write(w) }
func (p rawPage) VisitListGradingCategories2022Response(w http.ResponseWriter) error {
	return p.write(w)
}

func (f rawFound) VisitFindOrgResponse(w http.ResponseWriter) error     { return f.write(w) }
func (f rawFound) VisitFindLEAResponse(w http.ResponseWriter) error     { return f.write(w) }
func (f rawFound) VisitFindPersonResponse(w http.ResponseWriter) error  { return f.write(w) }
func (f rawFound) VisitFindCourseResponse(w http.ResponseWriter) error  { return f.write(w) }
func (f rawFound) VisitFindSectionResponse(w http.ResponseWriter) error { return f.write(w) }
func (f rawFound) VisitFindTermResponse(w http.ResponseWriter) error    { return f.write(w) }

// ListOrgs implements apiserver.StrictServerInterface.
func (h *Handler) ListOrgs(ctx context.Context, r apiserver.ListOrgsRequestObject) (apiserver.ListOrgsResponseObject, error) {
	return h.list(ctx, qOrgs, r.Params.Page, r.Params.PageSize, r.Params.Cursor)
}

// ListLEAs implements apiserver.StrictServerInterface.
func (h *Handler) ListLEAs(ctx context.Context, r apiserver.ListLEAsRequestObject) (apiserver.ListLEAsResponseObject, error) {
	return h.list(ctx, qLEAs, r.Params.Page, r.Params.PageSize, r.Params.Cursor)
}

// ListSchools implements apiserver.StrictServerInterface.
func (h *Handler) ListSchools(ctx context.Context, r apiserver.ListSchoolsRequestObject) (apiserver.ListSchoolsResponseObject, error) {
	return h.list(ctx, qSchools, r.Params.Page, r.Params.PageSize, r.Params.Cursor)
}

// ListStudentsForOrg implements apiserver.StrictServerInterface.
func (h *Handler) ListStudentsForOrg(ctx context.Context, r apiserver.ListStudentsForOrgRequestObject) (apiserver.ListStudentsForOrgResponseObject, error) {
	return h.listForOrg(ctx, r.ID, qStudents, r.Params.Page, r.Params.PageSize, r.Params.Cursor)
}

// ListTeachersForOrg implements apiserver.StrictServerInterface.
func (h *Handler) ListTeachersForOrg(ctx context.Context, r apiserver.ListTeachersForOrgRequestObject) (apiserver.ListTeachersForOrgResponseObject, error) {
	return h.listForOrg(ctx, r.ID, qTeachers, r.Params.Page, r.Params.PageSize, r.Params.Cursor)
}

// ListCoursesForOrg implements apiserver.StrictServerInterface.
func (h *Handler) ListCoursesForOrg(ctx context.Context, r apiserver.ListCoursesForOrgRequestObject) (apiserver.ListCoursesForOrgResponseObject, error) {
	return h.listForOrg(ctx, r.ID, qCourses, r.Params.Page, r.Params.PageSize, r.Params.Cursor)
}

// ListSectionsForOrg implements apiserver.StrictServerInterface.
func (h *Handler) ListSectionsForOrg(ctx context.Context, r apiserver.ListSectionsForOrgRequestObject) (apiserver.ListSectionsForOrgResponseObject, error) {
	return h.listForOrg(ctx, r.ID, qSections, r.Params.Page, r.Params.PageSize, r.Params.Cursor)
}

// ListTermsForOrg implements apiserver.StrictServerInterface.
func (h *Handler) ListTermsForOrg(ctx context.Context, r apiserver.ListTermsForOrgRequestObject) (apiserver.ListTermsForOrgResponseObject, error) {
	return h.listForOrg(ctx, r.ID, qTerms, r.Params.Page, r.Params.PageSize, r.Params.Cursor)
}

// ListPersons implements apiserver.StrictServerInterface.
func (h *Handler) ListPersons(ctx context.Context, r apiserver.ListPersonsRequestObject) (apiserver.ListPersonsResponseObject, error) {
	return h.list(ctx, qPersons, r.Params.Page, r.Params.PageSize, r.Params.Cursor)
}

// ListStudents implements apiserver.StrictServerInterface.
func (h *Handler) ListStudents(ctx context.Context, r apiserver.ListStudentsRequestObject) (apiserver.ListStudentsResponseObject, error) {
	return h.list(ctx, qStudents, r.Params.Page, r.Params.PageSize, r.Params.Cursor)
}

// ListTeachers implements apiserver.StrictServerInterface.
func (h *Handler) ListTeachers(ctx context.Context, r apiserver.ListTeachersRequestObject) (apiserver.ListTeachersResponseObject, error) {
	return h.list(ctx, qTeachers, r.Params.Page, r.Params.PageSize, r.Params.Cursor)
}

// ListCourses implements apiserver.StrictServerInterface.
func (h *Handler) ListCourses(ctx context.Context, r apiserver.ListCoursesRequestObject) (apiserver.ListCoursesResponseObject, error) {
	return h.list(ctx, qCourses, r.Params.Page, r.Params.PageSize, r.Params.Cursor)
}

// ListSections implements apiserver.StrictServerInterface.
func (h *Handler) ListSections(ctx context.Context, r apiserver.ListSectionsRequestObject) (apiserver.ListSectionsResponseObject, error) {
	return h.list(ctx, qSections, r.Params.Page, r.Params.PageSize, r.Params.Cursor)
}

// ListTerms implements apiserver.StrictServerInterface.
func (h *Handler) ListTerms(ctx context.Context, r apiserver.ListTermsRequestObject) (apiserver.ListTermsResponseObject, error) {
	return h.list(ctx, qTerms, r.Params.Page, r.Params.PageSize, r.Params.Cursor)
}

// ListGradingCategories implements apiserver.StrictServerInterface.
func (h *Handler) ListGradingCategories(ctx context.Context, r apiserver.ListGradingCategoriesRequestObject) (apiserver.ListGradingCategoriesResponseObject, error) {
	return h.list(ctx, qGrading, r.Params.Page, r.Params.PageSize, r.Params.Cursor)
}

// ListGradingCategories2022 implements apiserver.StrictServerInterface: the
// 2022 path answers as listGradingCategories (decision paths-2022). Its
// cursors are the same list's, so either path takes the other's.
func (h *Handler) ListGradingCategories2022(ctx context.Context, r apiserver.ListGradingCategories2022RequestObject) (apiserver.ListGradingCategories2022ResponseObject, error) {
	return h.list(ctx, qGrading, r.Params.Page, r.Params.PageSize, r.Params.Cursor)
}

// FindOrg implements apiserver.StrictServerInterface.
func (h *Handler) FindOrg(ctx context.Context, r apiserver.FindOrgRequestObject) (apiserver.FindOrgResponseObject, error) {
	return h.find(ctx, store.KindOrg, "", r.ID, "org")
}

// FindLEA implements apiserver.StrictServerInterface: an org that is not an LEA is 404.
func (h *Handler) FindLEA(ctx context.Context, r apiserver.FindLEARequestObject) (apiserver.FindLEAResponseObject, error) {
	return h.find(ctx, store.KindOrg, store.SubtypeLEA, r.ID, "LEA")
}

// FindPerson implements apiserver.StrictServerInterface.
func (h *Handler) FindPerson(ctx context.Context, r apiserver.FindPersonRequestObject) (apiserver.FindPersonResponseObject, error) {
	return h.find(ctx, store.KindPerson, "", r.ID, "person")
}

// FindCourse implements apiserver.StrictServerInterface.
func (h *Handler) FindCourse(ctx context.Context, r apiserver.FindCourseRequestObject) (apiserver.FindCourseResponseObject, error) {
	return h.find(ctx, store.KindCourse, "", r.ID, "course")
}

// FindSection implements apiserver.StrictServerInterface.
func (h *Handler) FindSection(ctx context.Context, r apiserver.FindSectionRequestObject) (apiserver.FindSectionResponseObject, error) {
	return h.find(ctx, store.KindSection, "", r.ID, "section")
}

// FindTerm implements apiserver.StrictServerInterface.
func (h *Handler) FindTerm(ctx context.Context, r apiserver.FindTermRequestObject) (apiserver.FindTermResponseObject, error) {
	return h.find(ctx, store.KindTerm, "", r.ID, "term")
}
