// Package docs serves the API reference of the Interop Data API: a page at
// /docs that renders the embedded spec, and the spec itself, byte for byte, at
// /openapi.yaml (and as JSON, keys in the same order, at /openapi.json). The
// server kit (package server) mounts it on every server it builds unless
// server.WithDocs(false) says otherwise.
//
// The page is rendered by Redoc (https://github.com/Redocly/redoc), version
// RedocVersion, whose standalone bundle is embedded in the binary: the page
// makes no request outside the server, so it works offline and behind
// firewalls, and what it shows cannot change under a deployed server. Redoc
// was chosen over Swagger UI and Scalar because:
//
//   - it is a reference for reading, not a console for calling: every
//     operation needs an OAuth2 token that a browser page has no business
//     holding, so Swagger UI's "try it out" would mostly produce 401s;
//   - it is one self-contained file (Swagger UI needs a script and a
//     stylesheet), with no telemetry (Redoc 3 added some, so 2.x is pinned)
//     and no web fonts to fetch (Scalar loads its fonts from a CDN by
//     default);
//   - it renders vendor extensions (showExtensions), so the x-decision and
//     x-unconfirmed notes on operations and fields are visible where they
//     apply.
//
// The spec's top-level x-decisions list, which no renderer shows, is
// appended to the description of the rendered copy as a "Decisions" section
// (one heading per decision, so each is in the sidebar and the search). Only
// the page's copy changes: /openapi.yaml and /openapi.json are the embedded
// spec.
package docs
