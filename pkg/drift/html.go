package drift

import (
	"html/template"
	"io"
	"slices"
	"strconv"
)

// WriteHTML writes the report as a self-contained HTML page (no script,
// no request to anywhere): a summary, then one section per operation.
func (r *Report) WriteHTML(w io.Writer) error {
	type opView struct {
		ID         string
		Op         *Operation
		Statuses   []kv
		Variants   []kv
		NotChecked []kv
	}
	type view struct {
		R          *Report
		Summary    string
		Ops        []opView
		Unconf     []kv
		ReqV, ResV int
	}
	v := view{R: r, Summary: r.String()}
	v.ReqV, v.ResV = r.Violations()
	ids := make([]string, 0, len(r.Operations))
	for id := range r.Operations {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		o := r.Operations[id]
		v.Ops = append(v.Ops, opView{ID: id, Op: o, Statuses: sorted(o.Statuses), Variants: sorted(o.Variants), NotChecked: sorted(o.NotChecked)})
	}
	for id, s := range r.Unconfirmed {
		v.Unconf = append(v.Unconf, kv{id, s})
	}
	slices.SortFunc(v.Unconf, func(a, b kv) int { return cmpString(a.K, b.K) })
	return page.Execute(w, v)
}

type kv struct{ K, V string }

func sorted(m map[string]int) []kv {
	out := make([]kv, 0, len(m))
	for k, n := range m {
		out = append(out, kv{k, strconv.Itoa(n)})
	}
	slices.SortFunc(out, func(a, b kv) int { return cmpString(a.K, b.K) })
	return out
}

var page = template.Must(template.New("report").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>interop drift report</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:70em;padding:0 1em;color:#222}
h1{font-size:1.5em}h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.4em 0 1em}td,th{border:1px solid #ccc;padding:.2em .6em;text-align:left}
th{background:#f4f4f4}code{font-family:ui-monospace,monospace}
.bad{color:#a00}.ok{color:#060}.muted{color:#777}
</style></head><body>
<h1>Drift report</h1>
<p id="summary">{{.Summary}}</p>
<p>Request violations: <b id="request-violations" class="{{if .ReqV}}bad{{else}}ok{{end}}">{{.ReqV}}</b>;
response violations: <b id="response-violations" class="{{if .ResV}}bad{{else}}ok{{end}}">{{.ResV}}</b>;
requests outside the API: {{.R.Passthrough}}.</p>
<h2>Unconfirmed operations</h2>
<table id="unconfirmed"><tr><th>operation</th><th>state</th></tr>
{{range .Unconf}}<tr><td><code>{{.K}}</code></td><td class="state">{{.V}}</td></tr>{{end}}
</table>
{{if .R.Unseen}}<h2>Unseen operations</h2><p id="unseen">{{range $i, $u := .R.Unseen}}{{if $i}}, {{end}}<code>{{$u}}</code>{{end}}</p>{{end}}
{{if .R.Unmatched}}<h2>Requests no operation matches</h2>
<table id="unmatched"><tr><th>method</th><th>path</th><th>count</th></tr>
{{range .R.Unmatched}}<tr><td>{{.Method}}</td><td><code>{{.Path}}</code></td><td>{{.Count}}</td></tr>{{end}}</table>{{end}}
{{if .R.UpstreamErrors}}<h2>Upstream errors</h2>
<table id="upstream"><tr><th>operation</th><th>error</th><th>count</th></tr>
{{range .R.UpstreamErrors}}<tr><td><code>{{.Operation}}</code></td><td>{{.Error}}</td><td>{{.Count}}</td></tr>{{end}}</table>{{end}}
<h2>Operations</h2>
{{range .Ops}}<section class="operation" id="op-{{.ID}}">
<h3><code>{{.ID}}</code> <span class="muted">{{.Op.Calls}} calls</span></h3>
<p>Statuses: {{range $i, $s := .Statuses}}{{if $i}}, {{end}}{{$s.K}} × {{$s.V}}{{end}}</p>
{{if .Op.Violations}}<table class="violations"><tr><th>direction</th><th>pointer</th><th>rule</th><th>count</th></tr>
{{range .Op.Violations}}<tr class="bad"><td>{{.Direction}}</td><td><code>{{if .Pointer}}{{.Pointer}}{{else}}(body){{end}}</code></td><td>{{.Rule}}</td><td>{{.Count}}</td></tr>{{end}}</table>
{{else}}<p class="ok">No violation.</p>{{end}}
{{if .Variants}}<p>Wire variants: {{range $i, $s := .Variants}}{{if $i}}, {{end}}<code>{{$s.K}}</code> × {{$s.V}}{{end}}</p>{{end}}
{{if .NotChecked}}<p class="muted">Not checked: {{range $i, $s := .NotChecked}}{{if $i}}, {{end}}{{$s.K}} × {{$s.V}}{{end}}</p>{{end}}
</section>
{{end}}
</body></html>
`))
