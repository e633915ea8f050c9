// Package client is the Go client of the Interop Data API of Instructure
// DataSync (formerly Kimono): K-12 roster data and the per-tenant task queue.
//
// It wraps the generated client of package gen/apiclient (still reachable through
// Client.Raw) with what integrators otherwise write themselves:
//
//   - authentication: OAuth2 client credentials (WithClientCredentials; the
//     token is cached, replaced ahead of its expiry and, when the server
//     answers 401, dropped and the request sent once more with a new one;
//     concurrent callers share one fetch, each waiting only as long as its
//     context allows; transient token endpoint failures are retried with
//     Retry-After honoured) or an LTI JWT (WithLTIJWT, WithLTIJWTFunc);
//   - contract validation of every request and response against the embedded
//     OpenAPI description, whatever host and mount point the base URL names
//     (WithValidation: ValidationOff, ValidationReport, ValidationEnforce):
//     bodies by the validator package contract compiles once per process,
//     parameters, headers and statuses by kin-openapi; a violation in an
//     error answer (an undeclared 413, say) still matches its status's
//     sentinel;
//   - retries of the requests that are safe to repeat (GETs and the PUT
//     acknowledgements) on network errors, bodies cut short, 429 and
//     500/502/503/504, with capped exponential backoff, full jitter and
//     Retry-After (WithRetryPolicy);
//   - one error type, *APIError, usable with errors.As, matching the sentinels
//     ErrNotFound, ErrUnauthorized, ErrForbidden, ErrBadRequest, ErrConflict,
//     ErrRateLimited and ErrServer with errors.Is; a contract violation is a
//     *ValidationError matching ErrContractViolation;
//   - iterators (iter.Seq2[T, error]) over every list operation that follow
//     paging.next to the last page, stop on a next link that loops, and honour
//     cancellation; Find methods that return the object or ErrNotFound;
//   - a task Consumer.
//
// # Reading rosters
//
//	c, err := client.New("https://api.us2.kimonocloud.com/v2/interop/data",
//		client.WithClientCredentials(id, secret, ""))
//	for school, err := range c.Schools(ctx, nil) {
//		if err != nil { return err }
//		for student, err := range c.StudentsForOrg(ctx, school.Sys.ID, &client.ListOptions{PageSize: 500}) {
//			...
//		}
//	}
//
// Each list can also be read one page at a time (SchoolsPage, ...): a Page
// carries the Cursor of the next one, so a walk stopped by an error (a 429
// in the middle of a million persons) resumes where it stopped.
//
// # Consuming tasks
//
//	cons, err := client.NewConsumer(c, client.HandlerFuncs{
//		Data:    func(ctx context.Context, t *client.Task, e *models.DataEvent) error { return upsert(ctx, e) },
//		Default: client.Ignore, // the other kinds, acknowledged unhandled on purpose
//	})
//	if err != nil { return err } // a *ConfigError: an incomplete handler, a bad option
//	err = cons.Run(ctx) // until ctx is cancelled
//
// The consumer polls GET /tasks, hands each task to the Handler method of its
// kind (kinds it does not know reach Fallback), and acknowledges it with the
// status the handler's result implies: nil is success, Retry(err) is retry,
// Reauthenticate(err) is reauthenticate, any other error is error with the
// error's text. Acknowledgements are sent in groups (PUT /tasks/ack) as tasks
// finish, each group within the spec's item and body limits; one the server did not receive is kept and sent again with
// backoff, and no new batch is leased until every acknowledgement is
// delivered. Handlers' contexts end with the batch's lease (WithLease). When
// the queue is empty the consumer backs off (capped, jittered). When Run's
// context ends, handlers in flight get a grace (WithShutdownGrace) to finish,
// their tasks are acknowledged, unstarted tasks are released, and Run returns
// within the grace plus the flush timeout.
//
// # Order
//
// A tenant's tasks of one batch are handled one at a time in sequence order;
// when one is released for redelivery, the tenant's later tasks of the batch
// are released with it. Different tenants run concurrently, in no order
// relative to each other. Across batches the order holds while every poll's
// answer arrives. When the server leased a batch whose answer was lost (a
// connection reset after sending, a 500/502/504, a body cut short), the next
// poll leases newer tasks and the lost batch comes back after its lease,
// behind them, unless WithStrictOrder is set (the consumer then waits one
// lease after such a poll). A crash, an acknowledgement that did not reach
// the server within the lease, or a handler that outlived it, also bring a
// task back late. docs/CONSUMER.md has the details and the fault-injection
// figures.
//
// # Tracing
//
// WithTracerProvider turns on OpenTelemetry tracing (otelhttp): one client
// span per request on the wire, each retry attempt included, as children of
// the span in the call's context, with the trace context sent in the headers
// of the global propagator. It is off without the option.
//
// # Delivery is at least once
//
// A task is delivered again when its acknowledgement does not reach the
// server: the process crashed after handling it, the network failed, the
// handler outlived the task's lease, or the server redelivered it after a
// retry. Handlers must therefore be idempotent: applying the same task twice
// must leave the same state as applying it once. Key writes by the task's
// object ($sys.id, DataEvent.ObjectID) rather than appending, compare
// Task.Sequence with the last sequence applied for the object and skip older
// ones, and make side effects outside your store (emails, provisioning calls)
// check whether they already happened. Never assume that a task seen once will
// not be seen again.
//
// # The vendor's wire variants
//
// DataSync deployments do not all answer in one shape, and a client cannot
// tell which one it talks to. The client accepts each documented variant and
// hands the caller the same typed value as for the contract's own shape
// (x-decision wire-tolerance in api/openapi.yaml):
//
//   - flat references ({"id", "type", "label", "org_type"}, the 2022 RefType)
//     where the contract has {"$sys": {...}};
//   - finds answering the bare object instead of {"data": {...}};
//   - lists without paging, or with next absent, empty or null: the last page;
//   - acknowledgements answered 200 or 204 with an empty body: the receipt is
//     made from the acknowledgement sent (task id, status) and the answer's
//     Date header;
//   - unknown values of open vocabularies and of TaskAckReceipt.status, and
//     unknown fields.
//
// Each variant is rewritten into the contract's shape before validation, so
// in ValidationEnforce it is not a violation; anything else still is. The
// rewrite costs nothing on canonical answers beyond a scan of the body.
//
// # Generated methods
//
// The list iterators and Find methods of the roster (operations.gen.go) are
// generated from the spec by internal/cmd/opgen: an operation added to the
// spec gets its method from make generate.
package client
