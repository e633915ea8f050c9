// Package ops is the contract's operation table, generated from
// api/openapi.yaml by internal/cmd/opgen, for tests that must cover "every
// operation": they range over All instead of counting by hand, so an
// operation added to the spec is covered (or named as missing) without a
// test edit.
package ops

// Operation is one operation of the spec.
type Operation struct {
	ID     string // operationId
	Method string
	Path   string
	Shape  string // list, find, ack or other
	Object string // the schema of its data (of its items for a list); "" when none
	HasID  bool   // takes the {id} path parameter
	Find   string // for a list: the operation that finds its objects, if any
	Client string // the client's method for it (its iterator, or its find), if generated
}

// Lists returns the operations of shape list whose objects are not tasks.
func Lists() []Operation {
	return filter(func(o Operation) bool { return o.Shape == "list" && o.Object != "Task" })
}

// Finds returns the operations of shape find whose object is not a task.
func Finds() []Operation {
	return filter(func(o Operation) bool { return o.Shape == "find" && o.Object != "Task" })
}

func filter(keep func(Operation) bool) []Operation {
	var out []Operation
	for _, o := range All {
		if keep(o) {
			out = append(out, o)
		}
	}
	return out
}
