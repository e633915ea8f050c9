package conformance

import (
	"html/template"
	"io"
	"strings"
	"time"
)

// reportPage is one self-contained HTML page: styles inline, no script, no
// request to anywhere (its Content-Security-Policy forbids them), so that it
// can be attached to a pull request or a CI run and opened offline.
var reportPage = template.Must(template.New("report").Funcs(template.FuncMap{
	"mark": func(v Verdict) string {
		return map[Verdict]string{Pass: "PASS", Fail: "FAIL", Skip: "SKIP", NotImplemented: "TODO"}[v]
	},
	"ms":   func(d time.Duration) string { return d.Round(time.Millisecond).String() },
	"utc":  func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
	"open": func(v Verdict) bool { return v == Fail },
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Interop Data API conformance of {{.R.BaseURL}}</title>
<style>
body { font: 15px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 70rem; padding: 0 1rem; color: #1b1b1b; }
h1 { font-size: 1.4rem; margin-bottom: .2rem; }
.meta { color: #555; margin-top: 0; }
.summary span { display: inline-block; margin-right: 1rem; font-weight: 600; }
h2 { font-size: 1.1rem; margin-top: 1.6rem; border-bottom: 1px solid #ddd; }
details { margin: .25rem 0; padding: .2rem .5rem; border-radius: 4px; }
details.fail { background: #fdecea; }
details.skip, details.not_implemented { background: #f5f5f5; }
summary { cursor: pointer; }
.v { display: inline-block; width: 3.2rem; font: 600 12px ui-monospace, monospace; }
.pass .v { color: #1a7f37; } .fail .v { color: #c62828; } .skip .v { color: #666; } .not_implemented .v { color: #8250df; }
.t { color: #777; font-size: 12px; margin-left: .5rem; }
.reason { margin: .4rem 0 .2rem 3.2rem; }
pre { margin: .2rem 0 .4rem 3.2rem; padding: .5rem; background: #fff; border: 1px solid #e3e3e3; overflow-x: auto; white-space: pre-wrap; word-break: break-word; font-size: 12px; }
</style>
</head>
<body>
<h1>Interop Data API conformance</h1>
<p class="meta">of <code>{{.R.BaseURL}}</code>, started {{utc .R.Started}}, took {{ms .R.Duration}}</p>
<p class="summary" id="summary"><span class="pass">{{.Passed}} passed</span><span class="fail">{{.Failed}} failed</span><span class="skip">{{.Skipped}} skipped</span>{{if .NotImpl}}<span class="not_implemented">{{.NotImpl}} not implemented</span>{{end}}<span>{{if .OK}}nothing failed{{else}}the server breaks the contract{{end}}</span></p>
{{range .Groups}}<section id="group-{{.Name}}">
<h2>{{.Name}}</h2>
{{range .Results}}<details class="{{.Verdict}}" data-verdict="{{.Verdict}}"{{if open .Verdict}} open{{end}}>
<summary><span class="v">{{mark .Verdict}}</span>{{.Name}}{{if .Duration}}<span class="t">{{ms .Duration}}</span>{{end}}</summary>
{{if .Reason}}<p class="reason">{{.Reason}}</p>{{end}}
{{if .Evidence}}<pre>{{.Evidence}}</pre>{{end}}
</details>
{{end}}</section>
{{end}}</body>
</html>
`))

type reportGroup struct {
	Name    string
	Results []Result
}

// WriteHTML writes the report as one self-contained HTML page: the summary,
// then every check by group with its verdict, reason and evidence (failed
// checks open, the others one click away).
func (r *Report) WriteHTML(w io.Writer) error {
	passed, failed, skipped := r.Counts()
	notImpl, _ := r.NotImplemented()
	var groups []reportGroup
	for _, res := range r.Results {
		if len(groups) == 0 || groups[len(groups)-1].Name != res.Group {
			groups = append(groups, reportGroup{Name: res.Group})
		}
		res.Evidence = strings.TrimSpace(res.Evidence)
		g := &groups[len(groups)-1]
		g.Results = append(g.Results, res)
	}
	return reportPage.Execute(w, struct {
		R                                *Report
		Passed, Failed, Skipped, NotImpl int
		OK                               bool
		Groups                           []reportGroup
	}{r, passed, failed, skipped, notImpl, r.OK(), groups})
}
