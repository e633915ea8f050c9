package conformance

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"
)

// taskWrites are the operations that need a task to answer with success.
var taskWrites = map[string]bool{
	"acknowledgeTasks": true, "acknowledgeTask": true, "acknowledgeAdminTasks": true,
	"acknowledgeAdminTask": true, "findAdminTask": true, "deleteAdminTask": true,
}

// taskWriteOps lists taskWrites, for skipLacking.
func taskWriteOps() []string {
	ops := make([]string, 0, len(taskWrites))
	for op := range taskWrites {
		ops = append(ops, op)
	}
	return ops
}

// specCheckSuffix ends the name of each operation's spec check.
const specCheckSuffix = " answers spec-valid responses"

// specResults judges every operation of the contract from all the exchanges
// of the run: each must have answered, with success at least once, and every
// answer (errors included) must match the contract.
func (r *run) specResults(ctx context.Context) []Result {
	var out []Result
	for _, op := range r.operationIDs() {
		res := Result{Group: "spec", Name: op + specCheckSuffix, Verdict: Pass}
		l := r.ops[op]
		switch {
		case l == nil:
			res.Verdict, res.Reason = Skip, "never exercised: the checks that call it ended before reaching it"
		case len(l.violations) > 0:
			v := l.violations[0]
			res.Verdict = Fail
			res.Reason = fmt.Sprintf("every response must match the contract, but %d of its responses did not; first: %s %s answered %d: %v",
				len(l.violations), v.Method, v.Rel, v.Status, v.Violation)
			for i, v := range l.violations {
				if i == 3 {
					break
				}
				res.Evidence += v.String() + "\n"
			}
		case !l.success && l.notImplemented > 0:
			res.Verdict, res.Reason = NotImplemented, fmt.Sprintf("not implemented: it answered 501 Not Implemented (%d×) and never succeeded", l.notImplemented)
		case !l.success && r.sawNotImplemented && onlyRefusals(l):
			res.Verdict, res.Reason = Skip, "it was only sent requests it must refuse: the checks that call it properly "+
				"need operations that are not implemented yet (statuses seen: "+statuses(l)+")"
		case !l.success && taskWrites[op] && r.queueEmpty:
			res.Verdict, res.Reason = Skip, "the task queue was empty, so it was only called with unknown ids: "+loadTasks
		case !l.success && onlyRefusals(l) && r.lacking[op] != "":
			res.Verdict, res.Reason = Skip, "the tenant holds nothing to call it with, so it was only sent requests it must refuse (statuses seen: "+
				statuses(l)+"): "+r.lacking[op]
		case !l.success:
			res.Verdict = Fail
			res.Reason = "it never answered a valid request with success (statuses seen: " + statuses(l) + ")"
		}
		if res.Evidence == "" && l != nil {
			res.Evidence = "statuses seen: " + statuses(l)
		}
		res.Evidence = strings.TrimSpace(res.Evidence)
		out = append(out, res)
	}
	return out
}

// onlyRefusals reports whether every answer was a 4xx.
func onlyRefusals(l *opLog) bool {
	for s := range l.statuses {
		if s < 400 || s >= 500 {
			return false
		}
	}
	return true
}

func statuses(l *opLog) string {
	var codes []int
	for s := range l.statuses {
		codes = append(codes, s)
	}
	sort.Ints(codes)
	parts := make([]string, len(codes))
	for i, s := range codes {
		parts[i] = fmt.Sprintf("%d×%d", s, l.statuses[s])
	}
	return strings.Join(parts, ", ")
}

// operationIDs lists the contract's operations in path order.
func (r *run) operationIDs() []string {
	var ids []string
	paths := r.spec.doc.Paths.Map()
	keys := make([]string, 0, len(paths))
	for k := range paths {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, m := range []string{http.MethodGet, http.MethodPut, http.MethodPost, http.MethodDelete, http.MethodPatch} {
			if op := paths[k].GetOperation(m); op != nil {
				ids = append(ids, op.OperationID)
			}
		}
	}
	return ids
}
