package oneroster

import (
	"strconv"

	"github.com/google/uuid"
)

// Namespace is the UUIDv5 namespace of every id the loader derives.
var Namespace = uuid.MustParse("0b6f5a52-3c0e-5f1c-9a57-6f6e65726f73")

// ID is the id of the object a row becomes: the UUIDv5 of the tenant, the
// file (FileOrgs, ...) and the row's sourcedId. The same row of the same
// tenant gets the same id on every load, on every machine; the same
// sourcedId in two tenants gets two ids. A demographics row describes the
// user of the same sourcedId, so it has no id of its own.
func ID(tenant uuid.UUID, file, sourcedID string) uuid.UUID {
	return uuid.NewSHA1(Namespace, name(tenant, file, sourcedID))
}

// OrgMembershipID is the id of the PersonOrgMembership of a user and one of
// its orgSourcedIds.
func OrgMembershipID(tenant uuid.UUID, userSID, orgSID string) uuid.UUID {
	return orgMembershipID(tenant, ID(tenant, FileUsers, userSID), ID(tenant, FileOrgs, orgSID))
}

// orgMembershipID derives from the two objects' ids, which a load knows
// for a membership the tenant keeps as well as for one of the export.
func orgMembershipID(tenant, user, org uuid.UUID) uuid.UUID {
	return uuid.NewSHA1(Namespace, name(tenant, "orgMembership", user.String(), org.String()))
}

// name joins the parts with their lengths, so that no two lists of parts
// give the same name ("a/b"+"c" and "a"+"b/c" differ).
func name(tenant uuid.UUID, parts ...string) []byte {
	b := make([]byte, 0, 64)
	b = append(b, tenant.String()...)
	for _, p := range parts {
		b = append(b, '/')
		b = strconv.AppendInt(b, int64(len(p)), 10)
		b = append(b, ':')
		b = append(b, p...)
	}
	return b
}
