package storeapi

import (
	"fmt"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// A status wrapped on its way up (connect's "info: %w") is still worded by its code, never as
// "rpc error: code = ... desc = ...".
func TestExplainWrappedStatus(t *testing.T) {
	for _, c := range []codes.Code{codes.Unimplemented, codes.InvalidArgument, codes.PermissionDenied, codes.Unavailable} {
		err := fmt.Errorf("info: %w", status.Error(c, "thanos.Store/Info"))
		got := Explain(err)
		if strings.Contains(got, "rpc error") || !strings.Contains(got, "thanos.Store/Info") {
			t.Errorf("%s: Explain(%q) = %q", c, err, got)
		}
	}
}
