package serve

import "github.com/globalquery/kubectl-globalquery/pkg/failure"

// Words are how serve tells its clients to change a knob: by a request parameter where the API
// has one, otherwise by the flag of the serve command, which is its operator's to change.
var Words = failure.Words{
	failure.QueryTimeout:    "the timeout parameter",
	failure.PartialResponse: "partial_response=true",
	failure.NoDedup:         "dedup=false",
	failure.MaxRetries:      "serve --max-retries",
	failure.ConnectTimeout:  "serve --connect-timeout",
	failure.StoreTimeout:    "serve --store-timeout",
	failure.MaxSeries:       "serve --max-series",
	failure.MaxSamples:      "serve --max-samples",
	failure.ClientTLS:       "serve --grpc-client-tls-secure",
}
