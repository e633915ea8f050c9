package store

import (
	"bytes"
	"fmt"
	"slices"

	"github.com/go-faster/jx"
	"github.com/google/uuid"
)

// CheckObject validates what every store requires of an object before
// keeping it.
func CheckObject(o Object) error {
	if o.ID == uuid.Nil {
		return fmt.Errorf("%w: object without id", ErrInvalid)
	}
	if !slices.Contains(servedKinds, o.Kind) && o.Kind != KindPersonOrgMembership && o.Kind != KindPersonSectionMembership {
		return fmt.Errorf("%w: object %s has unknown kind %q", ErrInvalid, o.ID, o.Kind)
	}
	if err := CheckName("subtype", o.Subtype); err != nil {
		return fmt.Errorf("object %s: %w", o.ID, err)
	}
	if err := CheckName("label", o.Label); err != nil {
		return fmt.Errorf("object %s: %w", o.ID, err)
	}
	// jx validates at about twice encoding/json's speed (a 100,000-user
	// load checks half a gigabyte of JSON); FuzzCheckObjectData holds it
	// to encoding/json's verdict.
	if data := bytes.TrimSpace(o.Data); len(data) == 0 || data[0] != '{' || !jx.Valid(o.Data) {
		return fmt.Errorf("%w: object %s data is not a JSON object", ErrInvalid, o.ID)
	}
	return nil
}

// CheckDistinct validates a batch of objects for SyncTx.PutAll: each valid,
// no id twice.
func CheckDistinct(objs []Object) error {
	seen := make(map[uuid.UUID]bool, len(objs))
	for _, o := range objs {
		if err := CheckObject(o); err != nil {
			return err
		}
		if seen[o.ID] {
			return fmt.Errorf("%w: object %s twice in one batch", ErrInvalid, o.ID)
		}
		seen[o.ID] = true
	}
	return nil
}
