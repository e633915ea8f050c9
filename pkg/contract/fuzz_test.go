package contract_test

import (
	"hash/fnv"
	"testing"

	"github.com/interop-data/interop/pkg/contract"
)

// FuzzCompiledAgreesWithKinOpenAPI is the differential check on fuzzed
// bodies: for any bytes, against any body schema of the spec, the compiled
// validator and kin-openapi agree (valid or invalid, and the first error's
// pointer and rule), every message stays bounded, and nothing panics. The one
// deliberate difference: the compiled validator refuses a key repeated in
// one object (ambiguous JSON; kin-openapi keeps the last value), so a body
// it refuses for that alone is not compared.
func FuzzCompiledAgreesWithKinOpenAPI(f *testing.F) {
	c := compiled(f)
	schemas := c.Schemas()
	byName := map[string]*contract.Schema{}
	for _, sc := range schemas {
		byName[sc.Name()] = sc
	}
	for _, s := range specExamples(f, c) {
		f.Add(s.schema.Name(), s.body)
	}
	f.Add("acknowledgeTasks request application/json", []byte(`[`+string(make([]byte, 0))+`]`))
	f.Add("acknowledgeTask request application/json", []byte(`{"status":"error","error":[[[[[[[[[[]]]]]]]]]]}`))
	f.Add("listPersons response 200 application/json", []byte(`{"data":[{"$sys":{"person_type":"Student","id":"x"},"$sys":{}}],"paging":{"next":null}}`))
	f.Fuzz(func(t *testing.T, name string, body []byte) {
		sc := byName[name]
		if sc == nil {
			h := fnv.New32a()
			h.Write([]byte(name))
			sc = schemas[int(h.Sum32()%uint32(len(schemas)))]
		}
		got := sc.Validate(body)
		if got != nil && (len(got.Pointer) > 512 || len(got.Reason) > 512) {
			t.Fatalf("unbounded violation: %d-byte pointer, %d-byte reason", len(got.Pointer), len(got.Reason))
		}
		if got != nil && got.Rule == "duplicate" {
			return
		}
		agree(t, "fuzz", sc, body)
	})
}
