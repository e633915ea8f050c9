package reference

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/interop-data/interop/gen"
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
	Orgs              []gen.Org
	Persons           []gen.Person
	Courses           []gen.Course
	Sections          []gen.Section
	Terms             []gen.Term
	GradingCategories []gen.GradingCategory
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
		if o.Sys != nil && o.Sys.Id != nil && o.Parent != nil && o.Parent.Sys.Id != nil {
			parent[*o.Sys.Id] = *o.Parent.Sys.Id
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
	add := func(kind store.Kind, id *uuid.UUID, subtype, label string, v any, orgs, sections []uuid.UUID) error {
		if id == nil || *id == uuid.Nil {
			return fmt.Errorf("%w: a %s without $sys.id", store.ErrInvalid, kind)
		}
		data, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("%s %s: %w", kind, *id, err)
		}
		out = append(out, store.Object{ID: *id, Kind: kind, Subtype: subtype, Label: label, Data: data,
			Orgs: withAncestors(orgs), Sections: sections})
		return nil
	}
	typ := func(k store.Kind) *string { s := string(k); return &s }

	for _, o := range r.Orgs {
		if o.Sys == nil {
			return nil, fmt.Errorf("%w: an org without $sys", store.ErrInvalid)
		}
		o.Sys.Type = typ(store.KindOrg)
		if err := add(store.KindOrg, o.Sys.Id, o.Sys.OrgType, deref(o.Sys.Label, o.Name), o, nil, nil); err != nil {
			return nil, err
		}
	}
	sectionOrg := map[uuid.UUID]uuid.UUID{}
	for _, s := range r.Sections {
		if s.Sys != nil && s.Sys.Id != nil && s.Org != nil && s.Org.Sys.Id != nil {
			sectionOrg[*s.Sys.Id] = *s.Org.Sys.Id
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
		label := deref(p.Sys.Label, nil)
		if label == "" && p.Name != nil {
			label = strings.TrimSpace(deref(p.Name.First, nil) + " " + deref(p.Name.Last, nil))
		}
		// The person's references give its links behind the org and
		// section lists and, where they name a $membership, the
		// membership objects (data events, no operation).
		personRef := &gen.PersonSys{Sys: gen.PersonRefType{Id: p.Sys.Id, Type: typ(store.KindPerson), PersonType: p.Sys.PersonType, Label: &label}}
		var orgs, sections []uuid.UUID
		var members []store.Object
		if p.Schools != nil {
			for _, m := range *p.Schools {
				if m.Sys.Id == nil {
					continue
				}
				orgs = append(orgs, *m.Sys.Id)
				if mid := m.Sys.Membership.Id; mid != nil {
					org := &gen.OrgSys{Sys: gen.OrgRefType{Id: m.Sys.Id, Type: typ(store.KindOrg), OrgType: m.Sys.OrgType, Label: m.Sys.Label}}
					members = append(members, membership(store.KindPersonOrgMembership, *mid,
						gen.PersonOrgMembership{Sys: &gen.SysType{Id: mid, Type: typ(store.KindPersonOrgMembership)}, Person: personRef, Org: org}))
				}
			}
		}
		if p.Sections != nil {
			for _, m := range *p.Sections {
				if m.Sys.Id == nil {
					continue
				}
				sections = append(sections, *m.Sys.Id)
				if mid := m.Sys.Membership.Id; mid != nil {
					sec := &gen.SectionSys{Sys: gen.RefType{Id: m.Sys.Id, Type: typ(store.KindSection), Label: m.Sys.Label}}
					members = append(members, membership(store.KindPersonSectionMembership, *mid,
						gen.PersonSectionMembership{Sys: &gen.SysType{Id: mid, Type: typ(store.KindPersonSectionMembership)}, Person: personRef, Section: sec}))
				}
			}
		}
		if err := add(store.KindPerson, p.Sys.Id, subtype, label, p, orgs, sections); err != nil {
			return nil, err
		}
		out = append(out, members...)
	}
	for _, c := range r.Courses {
		if c.Sys == nil {
			return nil, fmt.Errorf("%w: a course without $sys", store.ErrInvalid)
		}
		c.Sys.Type = typ(store.KindCourse)
		var orgs []uuid.UUID
		if c.Orgs != nil {
			for _, o := range *c.Orgs {
				if o.Sys.Id != nil {
					orgs = append(orgs, *o.Sys.Id)
				}
			}
		}
		if err := add(store.KindCourse, c.Sys.Id, "", deref(c.Sys.Label, c.Title), c, orgs, nil); err != nil {
			return nil, err
		}
	}
	termOrgs := map[uuid.UUID][]uuid.UUID{}
	for id, orgs := range r.TermOrgs {
		termOrgs[id] = append(termOrgs[id], orgs...)
	}
	for _, s := range r.Sections {
		if s.Sys == nil {
			return nil, fmt.Errorf("%w: a section without $sys", store.ErrInvalid)
		}
		s.Sys.Type = typ(store.KindSection)
		var orgs []uuid.UUID
		if org, ok := sectionOrg[deref(s.Sys.Id, uuid.Nil)]; ok {
			orgs = append(orgs, org)
			if s.Terms != nil {
				for _, t := range *s.Terms {
					if t.Sys.Id != nil && !contains(termOrgs[*t.Sys.Id], org) {
						termOrgs[*t.Sys.Id] = append(termOrgs[*t.Sys.Id], org)
					}
				}
			}
		}
		if err := add(store.KindSection, s.Sys.Id, "", deref(s.Sys.Label, s.Title), s, orgs, nil); err != nil {
			return nil, err
		}
	}
	for _, t := range r.Terms {
		if t.Sys == nil {
			return nil, fmt.Errorf("%w: a term without $sys", store.ErrInvalid)
		}
		t.Sys.Type = typ(store.KindTerm)
		if err := add(store.KindTerm, t.Sys.Id, t.Sys.TermType, deref(t.Sys.Label, t.Name), t, termOrgs[deref(t.Sys.Id, uuid.Nil)], nil); err != nil {
			return nil, err
		}
	}
	for _, g := range r.GradingCategories {
		if g.Sys == nil {
			return nil, fmt.Errorf("%w: a grading category without $sys", store.ErrInvalid)
		}
		g.Sys.Type = typ(store.KindGradingCategory)
		var orgs []uuid.UUID
		if g.School != nil && g.School.Sys.Id != nil {
			orgs = append(orgs, *g.School.Sys.Id)
		}
		if err := add(store.KindGradingCategory, g.Sys.Id, "", deref(g.Sys.Label, g.Name), g, orgs, nil); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// deref returns *p, else *alt, else the zero value.
func deref[T any](p *T, alt ...any) T {
	if p != nil {
		return *p
	}
	for _, a := range alt {
		switch v := a.(type) {
		case *T:
			if v != nil {
				return *v
			}
		case T:
			return v
		}
	}
	var zero T
	return zero
}

// membership is the store object of a membership: its JSON cannot fail to
// encode (ids, strings and references only).
func membership(kind store.Kind, id uuid.UUID, v any) store.Object {
	data, _ := json.Marshal(v)
	return store.Object{ID: id, Kind: kind, Data: data}
}

func contains(ids []uuid.UUID, id uuid.UUID) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}
