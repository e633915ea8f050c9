package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"hash/maphash"
	"math/bits"
	"slices"

	"github.com/google/uuid"
	sqlite3 "modernc.org/sqlite"

	"github.com/interop-data/interop/pkg/reference/store"
)

// A sync that stages at least knownAfter objects reads the tenant's roster
// once (readKnown): every stored object's content and links, summed in
// memory (store.Known), unless the tenant holds more than maxKnown
// objects. From then on Stage stages only the objects whose sum differs: a
// nightly export is almost all unchanged, and each unchanged object then
// costs a sum and a map lookup instead of a staged row, its links, a probe
// of the roster's index that reads the stored row to compare it, and the
// probes of its links. The roster is read in three scans in key order (the
// two link tables by their primary keys, then the objects by seq, each
// object's content summed in SQL), which cost a fraction of the probes
// they replace.
//
// The sums need no stored digest (and so no migration, nor a writer that
// could forget one): they are made of what is stored, with a random seed
// of the process's own.
const (
	defaultKnownAfter = 8192
	maxKnown          = 1_000_000
)

// WithRosterReadAfter sets how many objects a sync stages before it reads
// the tenant's roster into memory (about 80 bytes an object, up to a
// million objects) and from then on stages only the objects that differ
// from it. The default, 8192, leaves small syncs to the database's diff; 0
// reads it at every sync's first Stage; a negative n never reads it.
func WithRosterReadAfter(n int) Option {
	return func(c *config) { c.knownAfter = int64(n) }
}

// summer makes Known's sums of objects, staged or stored, alike: the sum of
// an object's content (kind, subtype, label and data, separated by a NUL,
// which CheckName keeps out of the first three) mixed with the sum of its
// links, each link summed alone and the sums added, so that a set's order
// does not matter.
type summer struct {
	h maphash.Hash
}

// knownSeed seeds every sum of this process: a stored object's content is
// summed in SQL (sumFunc), a staged one's in Go, and the two must agree.
// Being random, it keeps anyone from making two objects collide on
// purpose.
var knownSeed = maphash.MakeSeed()

func newSummer() *summer {
	s := &summer{}
	s.h.SetSeed(knownSeed)
	return s
}

// sumFunc is the SQL function that sums a stored object's content where it
// lies: the read passes SQLite's own copy of each value (VolatileArgs), so
// the data, most of what a roster holds, is never copied into Go.
const sumFunc = "interop_known_sum"

func init() {
	sqlite3.MustRegisterFunction(sumFunc, &sqlite3.FunctionImpl{
		NArgs:        4,
		VolatileArgs: true,
		Scalar: func(_ *sqlite3.FunctionContext, args []driver.Value) (driver.Value, error) {
			var h maphash.Hash
			h.SetSeed(knownSeed)
			for i, a := range args {
				if i > 0 {
					h.WriteByte(0)
				}
				switch v := a.(type) {
				case string:
					h.WriteString(v)
				case []byte:
					h.Write(v)
				case nil:
				default:
					return nil, fmt.Errorf("%s: argument %d is a %T", sumFunc, i+1, a)
				}
			}
			return int64(h.Sum64()), nil
		},
	})
}

// content sums what an object's row holds, as sumFunc does.
func (s *summer) content(kind, subtype, label string, data []byte) uint64 {
	h := &s.h
	h.Reset()
	h.WriteString(kind)
	h.WriteByte(0)
	h.WriteString(subtype)
	h.WriteByte(0)
	h.WriteString(label)
	h.WriteByte(0)
	h.Write(data)
	return h.Sum64()
}

// Tags of a link's sum: an org link and a section link of one id differ.
const (
	orgLink     = 'o'
	sectionLink = 's'
)

// linkSum sums one link of an object.
func linkSum(tag byte, id uuid.UUID) uint64 {
	var b [1 + len(uuid.UUID{})]byte
	b[0] = tag
	copy(b[1:], id[:])
	return maphash.Bytes(knownSeed, b[:])
}

// mix folds the sum of an object's links into its content's.
func mix(content, links uint64) uint64 {
	return content ^ bits.RotateLeft64(links*0x9e3779b97f4a7c15, 29)
}

// object sums a staged object as its rows would be stored: its links are
// sets (INSERT OR IGNORE), so a repeated org or section counts once.
func (s *summer) object(o *store.Object) uint64 {
	links := linksSum(orgLink, o.Orgs) + linksSum(sectionLink, o.Sections)
	return mix(s.content(string(o.Kind), o.Subtype, o.Label, o.Data), links)
}

func linksSum(tag byte, ids []uuid.UUID) uint64 {
	var sum uint64
	if len(ids) > 16 {
		ids = slices.Clone(ids)
		slices.SortFunc(ids, func(a, b uuid.UUID) int { return bytes.Compare(a[:], b[:]) })
		ids = slices.Compact(ids)
	}
	for i, id := range ids {
		if len(ids) <= 16 && slices.Contains(ids[:i], id) {
			continue
		}
		sum += linkSum(tag, id)
	}
	return sum
}

// readKnown reads the tenant's roster into x.known, as the sync sees it (on
// the snapshot, or with the lock, its own writes included). The objects
// this sync staged, or planned to remove, before it are touched: what is
// read is not what they will be.
func (x *syncTx) readKnown(ctx context.Context) error {
	x.knownRead = true
	q, tenant := x.querier(), x.tenant.String()
	var n int
	if err := q.QueryRowContext(ctx, `SELECT count(*) FROM main.objects WHERE tenant_id = ?`, tenant).Scan(&n); err != nil {
		return fmt.Errorf("sqlite: stage: %w", err)
	}
	if n > maxKnown {
		return nil
	}
	// Most objects (the memberships) have no links: a sixth had at 100,000 users.
	links := make(map[int64]uint64, n/4)
	for _, l := range []struct {
		tag   byte
		query string
	}{
		{orgLink, `SELECT object_seq, org_id FROM main.object_orgs WHERE tenant_id = ?`},
		{sectionLink, `SELECT person_seq, section_id FROM main.person_sections WHERE tenant_id = ?`},
	} {
		rows, err := q.QueryContext(ctx, l.query, tenant)
		if err != nil {
			return fmt.Errorf("sqlite: stage: %w", err)
		}
		var seq int64
		var id uuid.UUID
		for rows.Next() {
			if err := rows.Scan(&seq, &id); err != nil {
				rows.Close()
				return fmt.Errorf("sqlite: stage: %w", err)
			}
			links[seq] += linkSum(l.tag, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("sqlite: stage: %w", err)
		}
	}
	// In seq order, between the tenant's first and last seqs: a tenant's
	// objects are mostly written together, so its rows are read in the
	// order they lie in the file (in about a quarter less time than
	// through an index that visits them by kind, at 100,000 users).
	var first, last sql.NullInt64
	if err := q.QueryRowContext(ctx, `SELECT min(seq), max(seq) FROM main.objects WHERE tenant_id = ?`, tenant).Scan(&first, &last); err != nil {
		return fmt.Errorf("sqlite: stage: %w", err)
	}
	rows, err := q.QueryContext(ctx, `SELECT seq, id, kind, `+sumFunc+`(kind, subtype, label, data) FROM main.objects
		WHERE seq BETWEEN ? AND ? AND +tenant_id = ?`, first.Int64, last.Int64, tenant)
	if err != nil {
		return fmt.Errorf("sqlite: stage: %w", err)
	}
	k := store.NewKnown(n)
	var seq, content int64
	var id uuid.UUID
	var kind string
	for rows.Next() {
		if err := rows.Scan(&seq, &id, &kind, &content); err != nil {
			rows.Close()
			return fmt.Errorf("sqlite: stage: %w", err)
		}
		k.Add(id, seq, store.Kind(kind), mix(uint64(content), links[seq]), true)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("sqlite: stage: %w", err)
	}
	// What this sync already staged or planned to remove.
	for _, touched := range []string{
		`SELECT id FROM temp.stage`,
		`SELECT o.id FROM temp.plan_removed p JOIN main.objects o ON o.seq = p.seq`,
	} {
		rows, err := q.QueryContext(ctx, touched)
		if err != nil {
			return fmt.Errorf("sqlite: stage: %w", err)
		}
		for rows.Next() {
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return fmt.Errorf("sqlite: stage: %w", err)
			}
			k.Touch(id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("sqlite: stage: %w", err)
		}
	}
	x.known, x.sum = k, newSummer()
	return nil
}

// touch records that the objects under ids are about to be written other
// than by Apply, once the roster is known, and restages those Stage found
// unchanged since the last Apply, in their places (their ords): Apply then
// puts each back as it was staged. The caller holds the lock, which
// dropped what was diffed ahead, so Apply diffs them.
func (x *syncTx) touch(ctx context.Context, ids ...uuid.UUID) error {
	if x.known == nil {
		return nil
	}
	for _, id := range ids {
		seq, ord, restage := x.known.Touch(id)
		if !restage || ord <= x.applied {
			continue
		}
		x.skipped--
		for _, q := range []string{
			`INSERT OR FAIL INTO temp.stage (ord, id, kind, subtype, label, data) SELECT ?1, id, kind, subtype, label, data FROM main.objects WHERE seq = ?2`,
			`INSERT INTO temp.stage_orgs (ord, org) SELECT ?1, org_id FROM main.object_orgs WHERE object_seq = ?2`,
			`INSERT INTO temp.stage_secs (ord, sec) SELECT ?1, section_id FROM main.person_sections WHERE person_seq = ?2`,
		} {
			if _, err := x.querier().ExecContext(ctx, q, ord, seq); err != nil {
				return fmt.Errorf("sqlite: stage: %w", err)
			}
		}
	}
	return nil
}
