package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"
)

// getJSON asks base+path and decodes the body, whatever the status.
func getJSON(t *testing.T, base, path string, q url.Values) (int, map[string]any) {
	t.Helper()
	resp, err := oracleClient.Get(base + path + "?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("%s%s: %q: %v", base, path, body, err)
	}
	return resp.StatusCode, v
}

// evaluated blanks what changes with every evaluation or scrape (times, durations), which the
// Querier and we read a moment apart; which replica's copy was chosen shows in the states that remain.
func evaluated(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			switch k {
			case "lastEvaluation", "evaluationTime", "activeAt", "lastScrape", "lastScrapeDuration":
				out[k] = "(time)"
			default:
				out[k] = evaluated(e)
			}
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = evaluated(e)
		}
		return out
	}
	return v
}

// sameAsQuerier compares ours and the Querier's answers as read returns them, evaluation times
// blanked. A state can change between the two reads (a pending alert turning firing), so a
// difference is read again, up to three times, before it counts; "" when they agree.
func sameAsQuerier(read func() (ours, oracle any)) string {
	var diff string
	for attempt := 0; attempt < 3; attempt++ {
		got, want := read()
		w, g := evaluated(want), evaluated(got)
		if reflect.DeepEqual(w, g) {
			return ""
		}
		wj, _ := json.Marshal(w)
		gj, _ := json.Marshal(g)
		diff = fmt.Sprintf("\n ours   %s\n oracle %s", gj, wj)
		time.Sleep(time.Second)
	}
	return diff
}

// apiPair reads path from our server and from the Querier, with the status codes.
func apiPair(t *testing.T, ours, path string, q url.Values) func() (any, any) {
	return func() (any, any) {
		oc, want := getJSON(t, theBed.QuerierHTTP, path, q)
		gc, got := getJSON(t, ours, path, q)
		return []any{gc, got}, []any{oc, want}
	}
}

// The rules and alerts APIs answer as the Querier's over the same sidecars: the HA pair's
// copies of each group and rule merged, the replica label gone, filters applied, and the same
// error for a bad parameter.
func TestRulesAndAlertsEqualQuerier(t *testing.T) {
	srv := startServe(t, "--kubeconfig="+theBed.Kubeconfig)
	for _, c := range []struct {
		path string
		q    url.Values
	}{
		{"/api/v1/rules", nil},
		{"/api/v1/rules", url.Values{"type": {"alert"}}},
		{"/api/v1/rules", url.Values{"type": {"record"}}},
		{"/api/v1/rules", url.Values{"rule_name[]": {"BedWatchdog", "job:up:count"}}},
		{"/api/v1/rules", url.Values{"rule_group[]": {"bed-recording"}}},
		{"/api/v1/rules", url.Values{"match[]": {`{severity="critical"}`}}},
		{"/api/v1/rules", url.Values{"match[]": {`{cluster=~"europe.*"}`, `{severity="none"}`}}},
		{"/api/v1/rules", url.Values{"type": {"bogus"}}},
		{"/api/v1/alerts", nil},
	} {
		name := c.path + "?" + c.q.Encode()
		diff := sameAsQuerier(apiPair(t, srv.url, c.path, c.q))
		if diff != "" {
			t.Errorf("%s: %s", name, diff)
		}
	}

	// What the comparisons stand on: the bed's rules are there, each group once, the us-only
	// alert under its own cluster, the failing rule failing.
	_, got := getJSON(t, srv.url, "/api/v1/rules", nil)
	b, _ := json.Marshal(got)
	for _, w := range []string{`"BedUnitedStatesOnly"`, `"health":"err"`, `"state":"firing"`, `"state":"pending"`} {
		if !strings.Contains(string(b), w) {
			t.Errorf("rules lack %s: %s", w, b)
		}
	}
	if strings.Contains(string(b), `"replica"`) {
		t.Errorf("a replica label is left: %s", b)
	}
	groups := got["data"].(map[string]any)["groups"].([]any)
	if len(groups) != 4 { // two groups in each of two files: europe's pair shares one
		t.Errorf("%d groups, want 4: %s", len(groups), b)
	}
	for _, g := range groups {
		g := g.(map[string]any)
		for _, r := range g["rules"].([]any) {
			r := r.(map[string]any)
			cluster := r["labels"].(map[string]any)["cluster"]
			if r["name"] == "BedUnitedStatesOnly" && !strings.HasPrefix(fmt.Sprint(cluster), "united-states/") {
				t.Errorf("the us-only alert under %v", cluster)
			}
		}
	}

	// Without dedup each replica's copy stays, told apart by its replica label.
	_, raw := getJSON(t, srv.url, "/api/v1/rules", url.Values{"dedup": {"false"}, "rule_name[]": {"BedWatchdog"}})
	rb, _ := json.Marshal(raw)
	if n := strings.Count(string(rb), `"name":"BedWatchdog"`); n != 3 {
		t.Errorf("dedup=false: %d copies of BedWatchdog, want one per Prometheus (3): %s", n, rb)
	}
}

// The alerts and rules commands print what the APIs answer: -o json is the Querier's answer, the
// table one row per alert of the HA pair, the us-only alert under its own cluster.
func TestAlertsAndRulesCommands(t *testing.T) {
	kc := "--kubeconfig=" + theBed.Kubeconfig
	for _, c := range []struct {
		args []string
		path string
		q    url.Values
	}{
		{[]string{"alerts"}, "/api/v1/alerts", nil},
		{[]string{"rules"}, "/api/v1/rules", nil},
		{[]string{"rules", "--type", "record"}, "/api/v1/rules", url.Values{"type": {"record"}}},
		{[]string{"rules", "--match", `{severity="critical"}`}, "/api/v1/rules", url.Values{"match[]": {`{severity="critical"}`}}},
	} {
		diff := sameAsQuerier(func() (any, any) {
			_, want := getJSON(t, theBed.QuerierHTTP, c.path, c.q)
			out, stderr, err := runCLI(t, append(c.args, kc, "-o", "json")...)
			if err != nil {
				t.Fatalf("%v: %v\n%s", c.args, err, stderr)
			}
			var got map[string]any
			if err := json.Unmarshal([]byte(out), &got); err != nil {
				t.Fatalf("%v: %q: %v", c.args, out, err)
			}
			return got, want
		})
		if diff != "" {
			t.Errorf("%v -o json: %s", c.args, diff)
		}
	}

	out, _, err := runCLI(t, "alerts", kc)
	if err != nil {
		t.Fatal(err)
	}
	var watchdogs, usOnly int
	for _, l := range strings.Split(strings.TrimSpace(out), "\n")[1:] {
		f := strings.Fields(l)
		switch f[1] {
		case "BedWatchdog":
			watchdogs++
		case "BedUnitedStatesOnly":
			usOnly++
			if !strings.HasPrefix(f[0], "united-states/") {
				t.Errorf("the us-only alert under %s:\n%s", f[0], out)
			}
		}
	}
	if watchdogs != 2 || usOnly != 1 {
		t.Errorf("%d watchdog rows (want one per cluster, 2), %d us-only (want 1):\n%s", watchdogs, usOnly, out)
	}
}

// With a store gone, rules fail naming it; with partial responses they come from the others,
// with a warning naming it.
func TestRulesStoreDown(t *testing.T) {
	proxy := startProxy(t, theBed.Stores[0].SidecarGRPC)
	args := []string{"alerts", "--endpoint", proxy.addr()}
	for _, s := range theBed.Stores[1:] {
		args = append(args, "--endpoint", s.SidecarGRPC)
	}
	if _, stderr, err := runCLI(t, args...); err != nil {
		t.Fatalf("every store up: %v\n%s", err, stderr)
	}
	proxy.kill()
	_, _, err := runCLI(t, args...)
	if err == nil || !strings.Contains(err.Error(), proxy.addr()) {
		t.Fatalf("a store gone: %v, want an error naming %s", err, proxy.addr())
	}
	out, stderr, err := runCLI(t, append(args, "--partial-response")...)
	if err != nil || !strings.Contains(stderr, "Warning: store "+proxy.addr()) || !strings.Contains(out, "BedWatchdog") {
		t.Fatalf("--partial-response: %v\n%s\n%s", err, stderr, out)
	}
}

// The targets API and command answer as the Querier's: each target once per HA pair where the
// replicas scrape it alike, the replica label gone, the state filter applied.
func TestTargetsEqualQuerier(t *testing.T) {
	srv := startServe(t, "--kubeconfig="+theBed.Kubeconfig)
	kc := "--kubeconfig=" + theBed.Kubeconfig
	for _, c := range []struct {
		q   url.Values
		cli []string // the command that prints the same, if any
	}{
		{nil, nil},
		{url.Values{"state": {"active"}}, []string{"targets", kc, "-o", "json"}},
		{url.Values{"state": {"dropped"}}, nil},
		{url.Values{"state": {"bogus"}}, nil},
	} {
		diff := sameAsQuerier(apiPair(t, srv.url, "/api/v1/targets", c.q))
		if diff == "" && c.cli != nil {
			diff = sameAsQuerier(func() (any, any) {
				_, want := getJSON(t, theBed.QuerierHTTP, "/api/v1/targets", c.q)
				out, stderr, err := runCLI(t, c.cli...)
				if err != nil {
					t.Fatalf("%v: %v\n%s", c.cli, err, stderr)
				}
				var got map[string]any
				if err := json.Unmarshal([]byte(out), &got); err != nil {
					t.Fatalf("%v: %q: %v", c.cli, out, err)
				}
				return got, want
			})
		}
		if diff != "" {
			t.Errorf("/api/v1/targets?%s: %s", c.q.Encode(), diff)
		}
	}
	_, got := getJSON(t, srv.url, "/api/v1/targets", nil)
	b, _ := json.Marshal(got)
	if !strings.Contains(string(b), `"health":"down"`) || !strings.Contains(string(b), `"health":"up"`) || strings.Contains(string(b), `"replica"`) {
		t.Errorf("targets: want some up, some down, no replica label: %s", b)
	}
}

// sortedMetas orders each metric's entries, which the Querier lists in the order its stores
// happened to answer.
func sortedMetas(v map[string]any) map[string]any {
	data, _ := v["data"].(map[string]any)
	for _, metas := range data {
		ms, _ := metas.([]any)
		sort.Slice(ms, func(i, j int) bool { return fmt.Sprint(ms[i]) < fmt.Sprint(ms[j]) })
	}
	return v
}

// The metadata API and command answer as the Querier's: per metric, every distinct entry of
// every store once.
func TestMetadataEqualsQuerier(t *testing.T) {
	srv := startServe(t, "--kubeconfig="+theBed.Kubeconfig)
	for _, q := range []url.Values{nil, {"metric": {"go_goroutines"}}, {"metric": {"no_such_metric"}}, {"limit": {"0"}}} {
		_, want := getJSON(t, theBed.QuerierHTTP, "/api/v1/metadata", q)
		_, got := getJSON(t, srv.url, "/api/v1/metadata", q)
		if !reflect.DeepEqual(sortedMetas(want), sortedMetas(got)) {
			wj, _ := json.Marshal(want)
			gj, _ := json.Marshal(got)
			t.Errorf("/api/v1/metadata?%s:\n ours   %.2000s\n oracle %.2000s", q.Encode(), gj, wj)
		}
	}
	_, all := getJSON(t, srv.url, "/api/v1/metadata", nil)
	if n := len(all["data"].(map[string]any)); n < 10 {
		t.Errorf("metadata of %d metrics: the comparison stands on too little", n)
	}
	if _, got := getJSON(t, srv.url, "/api/v1/metadata", url.Values{"limit": {"3"}}); len(got["data"].(map[string]any)) != 3 {
		t.Errorf("limit=3: %v", got)
	}
	code, got := getJSON(t, srv.url, "/api/v1/metadata", url.Values{"limit": {"many"}})
	if code != 400 || got["errorType"] != "bad_data" || !strings.Contains(fmt.Sprint(got["error"]), "many") {
		t.Errorf("limit=many: %d %v", code, got)
	}

	out, stderr, err := runCLI(t, "metadata", "go_goroutines", "--kubeconfig="+theBed.Kubeconfig, "-o", "json")
	if err != nil {
		t.Fatalf("metadata: %v\n%s", err, stderr)
	}
	var cli map[string]any
	if err := json.Unmarshal([]byte(out), &cli); err != nil {
		t.Fatalf("metadata -o json: %q: %v", out, err)
	}
	_, want := getJSON(t, theBed.QuerierHTTP, "/api/v1/metadata", url.Values{"metric": {"go_goroutines"}})
	if !reflect.DeepEqual(sortedMetas(want), sortedMetas(cli)) {
		t.Errorf("metadata go_goroutines -o json: %s, the Querier %v", out, want)
	}
}

// /api/v1/stores lists the stores by component type as the Querier's does, with the same label
// sets and time ranges; the names are ours (namespace/pod), where the Querier has addresses.
func TestStoresPageEqualsQuerier(t *testing.T) {
	srv := startServe(t, "--kubeconfig="+theBed.Kubeconfig)
	summary := func(v map[string]any) []string {
		var out []string
		data, _ := v["data"].(map[string]any)
		for typ, ss := range data {
			if typ != "sidecar" {
				continue // the oracle also lists the Store Gateway, which is not a kube store here
			}
			for _, s := range ss.([]any) {
				s := s.(map[string]any)
				ls, _ := json.Marshal(s["labelSets"])
				out = append(out, fmt.Sprintf("%s %s %v", typ, ls, s["maxTime"]))
			}
		}
		sort.Strings(out)
		return out
	}
	_, want := getJSON(t, theBed.QuerierHTTP, "/api/v1/stores", nil)
	_, got := getJSON(t, srv.url, "/api/v1/stores", nil)
	if w, g := summary(want), summary(got); len(g) != 3 || !reflect.DeepEqual(w, g) {
		t.Errorf("stores:\n ours   %v\n oracle %v", g, w)
	}
}

// The new commands complete their flags' values, and metric and label names from the stores.
func TestRulesCommandsComplete(t *testing.T) {
	kc := "--kubeconfig=" + theBed.Kubeconfig
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"metadata", kc, "go_gorout"}, "go_goroutines"},
		{[]string{"alerts", kc, "--match", "{seve"}, "{severity"},
		{[]string{"alerts", kc, "--state", ""}, "pending"},
		{[]string{"rules", kc, "--type", ""}, "record"},
		{[]string{"targets", kc, "--health", ""}, "down"},
	} {
		out, stderr, err := runCLI(t, append([]string{"__complete"}, c.args...)...)
		if err != nil || !strings.Contains(out, c.want) {
			t.Errorf("completing %v: %v %q, want %q\n%s", c.args, err, out, c.want, stderr)
		}
	}
}

// Prometheus pods read through their HTTP API instead of sidecars give the same rules, alerts,
// targets and metadata as the Querier reading the sidecars: the external labels added where a
// sidecar adds them.
func TestQuerierAPIsThroughRemoteRead(t *testing.T) {
	srv := startServe(t, "--kubeconfig="+theBed.Kubeconfig, "--prefer-remote-read")
	for _, c := range []struct {
		path string
		q    url.Values
	}{
		{"/api/v1/rules", nil},
		{"/api/v1/alerts", nil},
		{"/api/v1/targets", url.Values{"state": {"active"}}},
		{"/api/v1/metadata", url.Values{"metric": {"go_goroutines"}}},
		{"/api/v1/query_exemplars", pastExemplars()},
	} {
		if diff := sameAsQuerier(apiPair(t, srv.url, c.path, c.q)); diff != "" {
			t.Errorf("%s?%s through remote read: %s", c.path, c.q.Encode(), diff)
		}
	}
}

// pastExemplars asks for the exemplars of the live histogram target's classic buckets over a
// window that has ended, so that the Querier and we read the same ones.
func pastExemplars() url.Values {
	end := time.Now().Add(-10 * time.Second)
	return url.Values{"query": {`rpc_classic_duration_seconds_bucket{service="auth"}`},
		"start": {secs(end.Add(-2 * time.Minute).UnixMilli())}, "end": {secs(end.UnixMilli())}}
}

// The exemplars API answers as the Querier's: per series, the replica label gone, each
// exemplar once, by time.
func TestExemplarsEqualQuerier(t *testing.T) {
	srv := startServe(t, "--kubeconfig="+theBed.Kubeconfig)
	q := pastExemplars()
	if diff := sameAsQuerier(apiPair(t, srv.url, "/api/v1/query_exemplars", q)); diff != "" {
		t.Errorf("/api/v1/query_exemplars?%s: %s", q.Encode(), diff)
	}
	_, got := getJSON(t, srv.url, "/api/v1/query_exemplars", q)
	b, _ := json.Marshal(got)
	if !strings.Contains(string(b), `"trace_id"`) || strings.Contains(string(b), `"replica"`) {
		t.Errorf("exemplars: want some with trace IDs, no replica label: %.1000s", b)
	}
	out, stderr, err := runCLI(t, "exemplars", `rpc_classic_duration_seconds_bucket{service="auth"}`, "--kubeconfig="+theBed.Kubeconfig, "--since", "5m")
	if err != nil || !strings.Contains(out, "trace_id=auth-") || strings.Contains(out, "replica=") {
		t.Errorf("exemplars command: %v\n%s\n%s", err, out, stderr)
	}
	if _, _, err := runCLI(t, "exemplars", "rate(x[5m", "--kubeconfig="+theBed.Kubeconfig); err == nil || !strings.Contains(err.Error(), "invalid query") {
		t.Errorf("exemplars of a bad query: %v", err)
	}
	q.Set("dedup", "false")
	_, raw := getJSON(t, srv.url, "/api/v1/query_exemplars", q)
	if rb, _ := json.Marshal(raw); !strings.Contains(string(rb), `"replica"`) {
		t.Errorf("dedup=false: no replica label: %.1000s", rb)
	}
}
