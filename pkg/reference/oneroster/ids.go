package oneroster

import (
	"crypto/sha1"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/interop-data/interop/internal/jsonenc"
)

// Namespace is the UUIDv5 namespace of every id the loader derives.
var Namespace = uuid.MustParse("0b6f5a52-3c0e-5f1c-9a57-6f6e65726f73")

// ID is the id of the object a row becomes: the UUIDv5 of the tenant, the
// file (FileOrgs, ...) and the row's sourcedId. The same row of the same
// tenant gets the same id on every load, on every machine; the same
// sourcedId in two tenants gets two ids. A demographics row describes the
// user of the same sourcedId, so it has no id of its own.
func ID(tenant uuid.UUID, file, sourcedID string) uuid.UUID {
	var buf [256]byte
	return sha1ID(name(buf[:0], tenant, file, sourcedID))
}

// OrgMembershipID is the id of the PersonOrgMembership of a user and one of
// its orgSourcedIds.
func OrgMembershipID(tenant uuid.UUID, userSID, orgSID string) uuid.UUID {
	return orgMembershipID(tenant, ID(tenant, FileUsers, userSID), ID(tenant, FileOrgs, orgSID))
}

// orgMembershipID derives from the two objects' ids, which a load knows
// for a membership the tenant keeps as well as for one of the export.
func orgMembershipID(tenant, user, org uuid.UUID) uuid.UUID {
	var buf [256]byte
	b := name(buf[:0], tenant, "orgMembership")
	for _, id := range []uuid.UUID{user, org} { // two more parts, as name writes them
		b = append(b, "/36:"...)
		b = jsonenc.UUID(b, id)
	}
	return sha1ID(b)
}

// sha1ID is uuid.NewSHA1(Namespace, name) without its allocations (a load
// derives an id for every row and membership): SHA-1 of the namespace and
// the name, version 5, RFC 4122 variant.
func sha1ID(name []byte) uuid.UUID {
	sum := sha1.Sum(name)
	var id uuid.UUID
	copy(id[:], sum[:])
	id[6] = (id[6] & 0x0f) | 0x50
	id[8] = (id[8] & 0x3f) | 0x80
	return id
}

// name appends to b the namespace (hashed first, see sha1ID) and the
// parts joined with their lengths, so that no two lists of parts give the
// same name ("a/b"+"c" and "a"+"b/c" differ).
func name(b []byte, tenant uuid.UUID, parts ...string) []byte {
	b = append(b, Namespace[:]...)
	b = jsonenc.UUID(b, tenant)
	for _, p := range parts {
		b = append(b, '/')
		b = strconv.AppendInt(b, int64(len(p)), 10)
		b = append(b, ':')
		b = append(b, p...)
	}
	return b
}

// idMaker derives the ids of a load's rows and of their references.
type idMaker struct {
	tenant uuid.UUID
	// cache remembers the ids of the rows other rows refer to by the many
	// (orgs, classes, courses, terms: a class's id is derived again for
	// every enrollment), up to maxIDs of them.
	cache map[idKey]uuid.UUID
}

type idKey struct{ file, sid string }

// maxIDs bounds idMaker.cache (about 100 bytes an entry).
const maxIDs = 1 << 16

// id is the id of file's row sid: uuid.Nil for "" (no reference), and the
// id itself for a reference of a row rebuilt from the tenant's objects (see
// mark).
func (m *idMaker) id(file, sid string) uuid.UUID {
	if sid == "" {
		return uuid.Nil
	}
	if strings.HasPrefix(sid, idMark) {
		id, err := uuid.Parse(sid[len(idMark):])
		if err != nil {
			return uuid.Nil
		}
		return id
	}
	cached := file != FileUsers && file != FileEnrollments && file != FileCategories
	if cached {
		if id, ok := m.cache[idKey{file, sid}]; ok {
			return id
		}
	}
	id := ID(m.tenant, file, sid)
	if cached && len(m.cache) < maxIDs {
		if m.cache == nil {
			m.cache = map[idKey]uuid.UUID{}
		}
		m.cache[idKey{file, sid}] = id
	}
	return id
}
