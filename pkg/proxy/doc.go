// Package proxy is the checking reverse proxy of interop proxy: put
// between an integration (in any language) and a deployment of the API, it
// forwards every request and answer unchanged and as they stream (status,
// headers and bytes; hop-by-hop headers aside, as any HTTP proxy), and
// checks a copy of each against the contract in report mode, through a
// drift.Recorder. It never changes, delays for checking or blocks traffic:
// the checking runs after the answer has been passed on, on a bounded pool
// of workers.
//
// Memory does not grow with body sizes: at most MaxBody bytes of each body
// are kept for checking; a larger body streams through all the same and is
// counted "too large" in the report. An upstream that cannot be reached or
// does not answer in time gets the caller a 502 or 504 with the API's JSON
// error body, and a line in the report.
//
// The report is served live at /_interop/report (JSON; HTML for a browser,
// or at /_interop/report.html).
package proxy
