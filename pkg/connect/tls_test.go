package connect

import (
	"strings"
	"testing"
)

func TestTLSOptionsValidation(t *testing.T) {
	for _, tc := range []struct {
		o    TLSOptions
		want string
	}{
		{TLSOptions{}, ""},
		{TLSOptions{CertFile: "c"}, "need --grpc-client-tls-secure"},
		{TLSOptions{Enabled: true, CertFile: "c"}, "go together"},
		{TLSOptions{Enabled: true, CAFile: "/nonexistent/ca.crt"}, "--grpc-client-tls-ca"},
		{TLSOptions{Enabled: true, SkipVerify: true}, ""},
	} {
		opt, err := tc.o.DialOption()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%+v: %v", tc.o, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%+v: error %v, want %q", tc.o, err, tc.want)
		case tc.want == "" && tc.o.Enabled && opt == nil:
			t.Errorf("%+v: no credentials", tc.o)
		}
	}
}
