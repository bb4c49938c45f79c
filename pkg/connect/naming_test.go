package connect

import "testing"

// A store's name carries its context when more than one context was asked, whatever the other
// contexts found: the rule is the cluster's, not a count of the clusters connected.
func TestStoreNameCarriesTheContextWhenQualified(t *testing.T) {
	for _, tc := range []struct {
		c          Cluster
		name, pref string
	}{
		{Cluster{Context: "eu", Qualified: true}, "eu/monitoring/prom-0", "context eu: "},
		{Cluster{Context: "eu"}, "monitoring/prom-0", ""},
		{Cluster{Qualified: true}, "monitoring/prom-0", ""}, // the current context has no name to give
	} {
		if got := tc.c.StoreName("monitoring", "prom-0"); got != tc.name {
			t.Errorf("%+v: name %q, want %q", tc.c, got, tc.name)
		}
		if got := tc.c.Prefix(); got != tc.pref {
			t.Errorf("%+v: prefix %q, want %q", tc.c, got, tc.pref)
		}
	}
}
