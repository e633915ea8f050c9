// Package listen turns a tenant's task queue into webhooks: interop listen
// runs the project's consumer (pkg/client Consumer: leases, acknowledgements
// kept through outages, token refresh) and delivers each task, in the
// task's order within its tenant, as an HTTP POST of its JSON to an
// integrator's endpoint written in any language, then acknowledges it by
// the answer:
//
//   - 2xx: success; a JSON object body may carry "message" and "app_id",
//     sent with the acknowledgement (app_id as $sys.app_id);
//   - 4xx (but 401, 403, 408 and 429): error, with the answer's text as the
//     message (its "message" member when it is a JSON object that has one);
//   - 5xx, 401, 403, 408, 429, 3xx, a time-out, a refused or reset
//     connection: not acknowledged; delivered again with growing pauses for
//     as long as the task's lease lasts (then the task is released with
//     retry and comes back). 401 and 403 say the endpoint refused the
//     listener (a secret that differs): nothing was processed;
//   - a response header Interop-Ack: success|error|retry|reauthenticate
//     names the outcome whatever the status (retry and reauthenticate put
//     the task back in the queue).
//
// Deliveries are signed when a secret is shared (WithSecret): the header
//
//	Interop-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">
//
// lets the endpoint check that the body came from its listener and is
// recent (Verify does it in Go; the README shows Python and Node). Each
// delivery also carries Interop-Task-Id, Interop-Task-Kind,
// Interop-Tenant-Id, Interop-Sequence and Interop-Delivery-Attempt.
//
// Delivery is at least once, as the queue's: a task whose answer was lost
// (a time-out after the endpoint processed it) is delivered again, so the
// endpoint must be idempotent by Interop-Task-Id.
//
// JSONLines writes the tasks on a stream instead, one JSON object a line.
package listen
