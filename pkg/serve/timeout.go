package serve

import (
	"fmt"
	"net/http"
	"time"

	"github.com/globalquery/kubectl-globalquery/pkg/timeparse"
)

// requestTimeout is how long a request may take: its timeout parameter where that is shorter
// than the server's --timeout, else the server's limit. It is the cause of the deadline of the
// request's context, and so the message of a request that outlives it, worded by who set the
// limit: the client, with a parameter it can change, or whoever started the server.
type requestTimeout struct {
	d     time.Duration
	param string // the timeout parameter as the request gave it; "" for the server's limit
}

func (t *requestTimeout) Error() string {
	if t.param != "" {
		return fmt.Sprintf("query timed out after %s (timeout=%s); narrow the query or raise the timeout parameter", t.d, t.param)
	}
	return fmt.Sprintf("query timed out after %s, the longest this server allows (serve --timeout); narrow the query or its time range", t.d)
}

// timeout reads the request's timeout parameter, capped by the server's limit.
func (a *api) timeout(r *http.Request) (*requestTimeout, *apiError) {
	limit := &requestTimeout{d: a.Frontend.Engine.Options().Timeout}
	v := r.FormValue("timeout")
	if v == "" {
		return limit, nil
	}
	d, err := timeparse.Duration(v)
	if err != nil {
		return nil, badParam("timeout", err)
	}
	if d <= 0 {
		return nil, badParam("timeout", fmt.Errorf("must be positive, got %s", v))
	}
	if d >= limit.d {
		return limit, nil
	}
	return &requestTimeout{d: d, param: v}, nil
}
