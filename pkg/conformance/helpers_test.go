package conformance_test

import "net/http"

type httpHandler = http.Handler
