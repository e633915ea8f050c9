package reference

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/interop-data/interop/gen/models"
	"github.com/interop-data/interop/pkg/reference/store"
)

// Roster is roster data to load into a tenant, in the API's own types.
// Objects need $sys.id; $sys.type is filled in. Memberships are read from the
// objects' references: a person's $schools and $sections, a course's $orgs, a
// section's $org, a grading category's $school and $section's org.
//
// A person's $schools and $sections references that carry a $membership id
// also load that membership as an object of its own (PersonOrgMembership,
// PersonSectionMembership: $sys, $person and $org or $section), so that
// memberships get data events like every other object (object_type
// RDM:PersonOrgMembership, RDM:PersonSectionMembership). Like any object, a
// membership is removed by naming its id in Deletes; dropping it from a
// person's references changes the person, not the membership.
type Roster struct {
	Orgs              []models.Org
	Persons           []models.Person
	Courses           []models.Course
	Sections          []models.Section
	Terms             []models.Term
	GradingCategories []models.GradingCategory
	// TermOrgs names the orgs of each term, which carries no org reference
	// of its own. Terms of a section's $terms belong to the section's org too.
	TermOrgs map[uuid.UUID][]uuid.UUID
	// Deletes are ids of objects to remove.
	Deletes []uuid.UUID

	Origin string // of the sync events; default "initial"
	Driver string // the tasks are addressed to; default none
	Silent bool   // store without enqueueing tasks (bulk seeding)
}

// Load stores r in tenant as one sync: SYNC_START, one data event per added,
// changed or deleted object, SYNC_END, all with one group_id.
func Load(ctx context.Context, st store.Store, tenant uuid.UUID, r Roster, now time.Time) (SyncResult, error) {
	objs, err := Objects(r)
	if err != nil {
		return SyncResult{}, err
	}
	return ApplySync(ctx, st, tenant, now, SyncOptions{Origin: r.Origin, Driver: r.Driver, Silent: r.Silent}, func(w SyncWriter) error {
		for _, o := range objs {
			if err := w.Upsert(ctx, o); err != nil {
				return err
			}
		}
		for _, id := range r.Deletes {
			if err := w.Delete(ctx, "", id); err != nil {
				return err
			}
		}
		return nil
	})
}

// Objects converts a roster to store objects with their links. A link to an
// org also links to that org's ancestors ($parent), so that an LEA's lists
// include what belongs to its schools.
func Objects(r Roster) ([]store.Object, error) {
	parent := map[uuid.UUID]uuid.UUID{}
	for _, o := range r.Orgs {
		if o.Sys.ID != uuid.Nil && o.Parent.Sys.ID != uuid.Nil {
			parent[o.Sys.ID] = o.Parent.Sys.ID
		}
	}
	withAncestors := func(ids []uuid.UUID) []uuid.UUID {
		seen := map[uuid.UUID]bool{}
		var out []uuid.UUID
		for _, id := range ids {
			for cur, depth := id, 0; depth < 16; depth++ { // depth guards against a cycle
				if seen[cur] {
					break
				}
				seen[cur] = true
				out = append(out, cur)
				p, ok := parent[cur]
				if !ok {
					break
				}
				cur = p
			}
		}
		return out
	}
	var out []store.Object
	add := func(kind store.Kind, id uuid.UUID, subtype, label string, v any, orgs, sections []uuid.UUID) error {
		if id == uuid.Nil {
			return fmt.Errorf("%w: a %s without $sys.id", store.ErrInvalid, kind)
		}
		data, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("%s %s: %w", kind, id, err)
		}
		out = append(out, store.Object{ID: id, Kind: kind, Subtype: subtype, Label: label, Data: data,
			Orgs: withAncestors(orgs), Sections: sections})
		return nil
	}
	typ := func(k store.Kind) string { return string(k) }

	for _, o := range r.Orgs {
		o.Sys.Type = typ(store.KindOrg)
		if err := add(store.KindOrg, o.Sys.ID, o.Sys.OrgType, cmp.Or(o.Sys.Label, o.Name), o, nil, nil); err != nil {
			return nil, err
		}
	}
	sectionOrg := map[uuid.UUID]uuid.UUID{}
	for _, s := range r.Sections {
		if s.Sys.ID != uuid.Nil && s.Org.Sys.ID != uuid.Nil {
			sectionOrg[s.Sys.ID] = s.Org.Sys.ID
		}
	}
	for _, p := range r.Persons {
		p.Sys.Type = typ(store.KindPerson)
		subtype := p.Sys.PersonType
		if strings.EqualFold(subtype, "Staff") || strings.EqualFold(subtype, store.SubtypeTeacher) {
			subtype = store.SubtypeTeacher
		} else if strings.EqualFold(subtype, store.SubtypeStudent) {
			subtype = store.SubtypeStudent
		}
		label := p.Sys.Label
		if label == "" {
			label = strings.TrimSpace(p.Name.First + " " + p.Name.Last)
		}
		// The person's references give its links behind the org and
		// section lists and, where they name a $membership, the
		// membership objects (data events, no operation).
		personRef := models.PersonSys{Sys: models.PersonRefType{ID: p.Sys.ID, Type: typ(store.KindPerson), PersonType: p.Sys.PersonType, Label: label}}
		var orgs, sections []uuid.UUID
		var members []store.Object
		if p.Schools != nil {
			for _, m := range p.Schools {
				if m.Sys.ID == uuid.Nil {
					continue
				}
				orgs = append(orgs, m.Sys.ID)
				if mid := m.Sys.Membership.ID; mid != uuid.Nil {
					org := models.OrgSys{Sys: models.OrgRefType{ID: m.Sys.ID, Type: typ(store.KindOrg), OrgType: m.Sys.OrgType, Label: m.Sys.Label}}
					members = append(members, MembershipObject(store.KindPersonOrgMembership, mid,
						models.PersonOrgMembership{Sys: models.SysType{ID: mid, Type: typ(store.KindPersonOrgMembership)}, Person: personRef, Org: org}))
				}
			}
		}
		if p.Sections != nil {
			for _, m := range p.Sections {
				if m.Sys.ID == uuid.Nil {
					continue
				}
				sections = append(sections, m.Sys.ID)
				if mid := m.Sys.Membership.ID; mid != uuid.Nil {
					sec := models.SectionSys{Sys: models.RefType{ID: m.Sys.ID, Type: typ(store.KindSection), Label: m.Sys.Label}}
					members = append(members, MembershipObject(store.KindPersonSectionMembership, mid,
						models.PersonSectionMembership{Sys: models.SysType{ID: mid, Type: typ(store.KindPersonSectionMembership)}, Person: personRef, Section: sec}))
				}
			}
		}
		if err := add(store.KindPerson, p.Sys.ID, subtype, label, p, orgs, sections); err != nil {
			return nil, err
		}
		out = append(out, members...)
	}
	for _, c := range r.Courses {
		c.Sys.Type = typ(store.KindCourse)
		var orgs []uuid.UUID
		if c.Orgs != nil {
			for _, o := range c.Orgs {
				if o.Sys.ID != uuid.Nil {
					orgs = append(orgs, o.Sys.ID)
				}
			}
		}
		if err := add(store.KindCourse, c.Sys.ID, "", cmp.Or(c.Sys.Label, c.Title), c, orgs, nil); err != nil {
			return nil, err
		}
	}
	termOrgs := map[uuid.UUID][]uuid.UUID{}
	for id, orgs := range r.TermOrgs {
		termOrgs[id] = append(termOrgs[id], orgs...)
	}
	for _, s := range r.Sections {
		s.Sys.Type = typ(store.KindSection)
		var orgs []uuid.UUID
		if org, ok := sectionOrg[s.Sys.ID]; ok {
			orgs = append(orgs, org)
			if s.Terms != nil {
				for _, t := range s.Terms {
					if t.Sys.ID != uuid.Nil && !slices.Contains(termOrgs[t.Sys.ID], org) {
						termOrgs[t.Sys.ID] = append(termOrgs[t.Sys.ID], org)
					}
				}
			}
		}
		if err := add(store.KindSection, s.Sys.ID, "", cmp.Or(s.Sys.Label, s.Title), s, orgs, nil); err != nil {
			return nil, err
		}
	}
	for _, t := range r.Terms {
		t.Sys.Type = typ(store.KindTerm)
		if err := add(store.KindTerm, t.Sys.ID, t.Sys.TermType, cmp.Or(t.Sys.Label, t.Name), t, termOrgs[t.Sys.ID], nil); err != nil {
			return nil, err
		}
	}
	for _, g := range r.GradingCategories {
		g.Sys.Type = typ(store.KindGradingCategory)
		var orgs []uuid.UUID
		if g.School.Sys.ID != uuid.Nil {
			orgs = append(orgs, g.School.Sys.ID)
		}
		if err := add(store.KindGradingCategory, g.Sys.ID, "", cmp.Or(g.Sys.Label, g.Name), g, orgs, nil); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// MembershipObject is the store object of a membership (a
// models.PersonOrgMembership or models.PersonSectionMembership): its JSON
// cannot fail to encode (ids, strings and references only). The OneRoster
// loader builds its memberships with it too.
func MembershipObject(kind store.Kind, id uuid.UUID, v any) store.Object {
	data, _ := json.Marshal(v)
	return store.Object{ID: id, Kind: kind, Data: data}
}
