package tunnel

import (
	"testing"

	"k8s.io/client-go/rest"
)

func TestPortForwardURL(t *testing.T) {
	for host, want := range map[string]string{
		"https://10.0.0.1:6443":       "https://10.0.0.1:6443/api/v1/namespaces/eu/pods/p-0/portforward",
		"https://example.com/k8s/c1/": "https://example.com/k8s/c1/api/v1/namespaces/eu/pods/p-0/portforward",
		"10.0.0.1:6443":               "https://10.0.0.1:6443/api/v1/namespaces/eu/pods/p-0/portforward",
		"http://127.0.0.1:8001":       "http://127.0.0.1:8001/api/v1/namespaces/eu/pods/p-0/portforward",
	} {
		u, err := portForwardURL(&rest.Config{Host: host}, "eu", "p-0")
		if err != nil || u.String() != want {
			t.Errorf("%s: got %v, %v; want %s", host, u, err, want)
		}
	}
	if _, err := portForwardURL(&rest.Config{Host: ""}, "eu", "p-0"); err == nil {
		t.Error("empty host accepted")
	}
}
