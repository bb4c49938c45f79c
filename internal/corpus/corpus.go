// Package corpus generates the PromQL expressions that the integration tests evaluate both with
// our engine and with a Thanos Querier, to prove that the two answer alike. Expressions come from
// templates crossed with the bed's metrics and with parameters (ranges, quantiles, groupings,
// offsets), so a new metric or template multiplies into many shapes at once. Generation is
// deterministic: the same parameters give the same expressions in the same order, which keeps
// failures reproducible and the skip list stable.
package corpus

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/prometheus/prometheus/promql/parser"
)

// Expr is one query of the corpus.
type Expr struct {
	Query string
	// Family names the template the query came from, for grouping failures.
	Family string
	// Ordered is set when PromQL defines the order of an instant query's result (sort and
	// friends at the top, or topk/bottomk without grouping), so comparisons must check it.
	Ordered bool
}

// Params fixes what the templates cannot know on their own.
type Params struct {
	// At is a Unix time in seconds, inside the data, for the `@` modifier.
	At int64
}

// Metrics of the bed, by kind. Those only some beds have (native histograms, the worker's series)
// are still queried everywhere: on a bed without them both sides must agree on an empty answer.
var (
	// Counters, with resets (an API instance restarts; one europe replica alone sees the
	// worker's reports queue restart), gaps (HA replicas that were down for a while) and a series
	// only one replica has (the worker's priority queue).
	counters = []string{
		`http_requests_total`,
		`http_requests_total{handler=~"/api/.+",code!~"5.."}`,
		`jobs_processed_total`,
		`jobs_processed_total{queue="reports"}`,
		`rpc_classic_duration_seconds_count`,
	}
	// Gauges, one of which one replica starts recording hours after the other.
	gauges = []string{
		`up`,
		`process_resident_memory_bytes`,
		`worker_queue_depth`,
		`node_memory_Active_bytes{instance=~"node-eu-.*"}`,
	}
	// Inputs of aggregations: a rate, a gauge, and a 0/1 gauge with many ties.
	aggInputs = []string{
		`rate(http_requests_total[5m])`,
		`process_resident_memory_bytes`,
		`up`,
	}
	// Groupings, including the external labels: `cluster` survives dedup, `replica` does not.
	groupings = []string{"", " by (cluster)", " without (instance)", " by (replica)"}

	classicBuckets = []string{
		`http_request_duration_seconds_bucket`,
		`rpc_classic_duration_seconds_bucket`,
	}
	// nativeHist is a native histogram counter scraped live.
	nativeHist = `rpc_duration_seconds`
)

// Family names that the test treats specially.
const (
	// FamilyStaleness queries a job that ended with staleness markers moments after the bed
	// started; they only say something when evaluated around that moment.
	FamilyStaleness = "staleness"
	// FamilyExperimental are refused by default by both parsers.
	FamilyExperimental = "experimental"
)

// Generate returns the corpus, unique and in a fixed order.
func Generate(p Params) []Expr {
	g := &gen{seen: map[string]bool{}, at: strconv.FormatInt(p.At, 10)}
	g.selectors()
	g.counterFuncs()
	g.overTime()
	g.aggregations()
	g.binary()
	g.math()
	g.timeFuncs()
	g.histograms()
	g.subqueries()
	g.offsetsAndAt()
	g.absent()
	g.labels()
	g.sorting()
	g.misc()
	g.staleness()
	g.rejected()
	g.durationExprs()
	return g.out
}

type gen struct {
	out  []Expr
	seen map[string]bool
	at   string
	fam  string
}

func (g *gen) add(q string) {
	if g.seen[q] {
		return
	}
	g.seen[q] = true
	g.out = append(g.out, Expr{Query: q, Family: g.fam, Ordered: ordered(q)})
}

func (g *gen) addf(format string, args ...any) { g.add(fmt.Sprintf(format, args...)) }

// ordered reports whether PromQL defines the order of q's instant result. Only the outermost
// expression counts: any operation on top of a sort gives up its order.
func ordered(q string) bool {
	e, err := parser.NewParser(parser.Options{EnableExperimentalFunctions: true}).ParseExpr(q)
	if err != nil {
		return false
	}
	for {
		p, ok := e.(*parser.ParenExpr)
		if !ok {
			break
		}
		e = p.Expr
	}
	switch e := e.(type) {
	case *parser.Call:
		switch e.Func.Name {
		case "sort", "sort_desc", "sort_by_label", "sort_by_label_desc":
			return true
		}
	case *parser.AggregateExpr:
		// With a grouping, only each group's series come sorted; groups come in any order.
		return (e.Op == parser.TOPK || e.Op == parser.BOTTOMK) && len(e.Grouping) == 0 && !e.Without
	}
	return false
}

func (g *gen) selectors() {
	g.fam = "selector"
	for _, s := range append(append([]string{}, counters...), gauges...) {
		g.add(s)
	}
	for _, s := range []string{
		`kube_pod_info`,
		`http_requests_total{code="200"}`,
		`jobs_processed_total{queue="priority"}`,
		`worker_queue_depth{queue="emails"}`,
		`node_uname_info{nodename=~"node-.*-a"}`,
		`{__name__=~"node_.+"}`,
		`{__name__=~"up|node_uname_info",job=~"node.*"}`,
		`up{cluster=~"europe/.*"}`,
		`up{cluster!~"europe/.*",job="api"}`,
		`up{replica=~".*-1"}`,
		`up{replica!=""}`,
		`up{instance=~"api-eu-1.*|node-us-a:9100"}`,
		`http_requests_total{method!="GET",code=~"2..|4.."}`,
		`http_request_duration_seconds_bucket{le="0.1",handler="/api/users"}`,
		`up{job="prometheus"}`,
		`{job="thanos-sidecar",__name__="up"}`,
		`process_resident_memory_bytes{job=~"prometheus|thanos-sidecar"}`,
		`nonexistent_metric`,
	} {
		g.add(s)
	}
}

func (g *gen) counterFuncs() {
	g.fam = "counter"
	for _, fn := range []string{"rate", "increase", "irate", "resets", "deriv", "delta", "idelta", "changes"} {
		ranges := []string{"5m", "1h"}
		if fn == "rate" || fn == "increase" {
			ranges = []string{"1m", "5m", "1h"}
		}
		for _, c := range counters {
			for _, r := range ranges {
				g.addf("%s(%s[%s])", fn, c, r)
			}
		}
	}
	for _, c := range counters[:3] {
		g.addf("predict_linear(%s[30m], 3600)", c)
		g.addf("predict_linear(%s[5m], -600)", c)
	}
	g.add(`rate(prometheus_http_requests_total[1m])`)
	g.add(`increase(prometheus_tsdb_head_samples_appended_total[2m])`)
}

func (g *gen) overTime() {
	g.fam = "over_time"
	for i, fn := range []string{"avg_over_time", "min_over_time", "max_over_time", "sum_over_time", "count_over_time",
		"last_over_time", "present_over_time", "stddev_over_time", "stdvar_over_time", "absent_over_time", "first_over_time"} {
		for j, s := range gauges {
			// A range shorter than the replicas' gaps and one that spans them, alternating.
			g.addf("%s(%s[%s])", fn, s, []string{"5m", "1h"}[(i+j)%2])
		}
	}
	for _, s := range gauges {
		g.addf("quantile_over_time(0.9, %s[30m])", s)
		g.addf("changes(%s[1h])", s)
	}
	g.add(`quantile_over_time(0, process_resident_memory_bytes[10m])`)
	g.add(`quantile_over_time(1, process_resident_memory_bytes[10m])`)
	g.add(`quantile_over_time(-1, up[10m])`)
	g.add(`quantile_over_time(2, up[10m])`)
}

func (g *gen) aggregations() {
	g.fam = "aggregation"
	// Every operator over every input, without grouping and with one grouping; the grouping
	// rotates so that each operator meets each of them.
	for i, op := range []string{"sum", "min", "max", "avg", "group", "stddev", "stdvar", "count"} {
		for j, in := range aggInputs {
			g.addf("%s (%s)", op, in)
			g.addf("%s%s (%s)", op, groupings[1+(i+j)%(len(groupings)-1)], in)
		}
	}
	for _, op := range []string{"topk", "bottomk"} {
		for _, k := range []string{"1", "3"} {
			for _, in := range aggInputs[:2] {
				g.addf("%s(%s, %s)", op, k, in)
				g.addf("%s by (cluster) (%s, %s)", op, k, in)
			}
		}
		g.addf("%s(0, up)", op)
		g.addf("%s(scalar(count(up{job=\"api\"})), process_resident_memory_bytes)", op)
		g.addf("%s without (instance, handler) (2, rate(http_requests_total[5m]))", op)
	}
	for _, q := range []string{"0", "0.5", "0.99", "1", "-0.5", "1.5"} {
		g.addf("quantile(%s, rate(http_requests_total[5m]))", q)
		g.addf("quantile by (cluster) (%s, process_resident_memory_bytes)", q)
	}
	for _, in := range aggInputs {
		g.addf(`count_values("value", %s)`, in)
	}
	g.add(`count_values by (cluster) ("up", up)`)
	g.add(`count_values("job", up)`)
	g.add(`sum by (cluster) (count_values("v", round(rate(http_requests_total[5m]))))`)
	// Aggregations over aggregations and over nothing.
	g.add(`max by (cluster) (sum by (cluster, instance) (rate(http_requests_total[5m])))`)
	g.add(`avg without (replica) (up)`)
	g.add(`sum without (replica, cluster) (up)`)
	g.add(`count by (__name__) ({__name__=~"up|kube_pod_info|node_uname_info"})`)
	g.add(`sum(nonexistent_metric)`)
	g.add(`count(nonexistent_metric)`)
	g.add(`stddev by (handler) (http_requests_total)`)
	g.add(`group by (cluster, replica) (up)`)
}

func (g *gen) binary() {
	g.fam = "binary"
	rate := `rate(http_requests_total[5m])`
	byCode := `sum without (code) (rate(http_requests_total[5m]))`
	for _, op := range []string{"+", "-", "*", "/", "%", "^", "atan2"} {
		g.addf("%s %s ignoring (code) group_left %s", rate, op, byCode)
		g.addf("up %s 2", op)
		g.addf("2 %s process_resident_memory_bytes", op)
	}
	for _, op := range []string{"==", "!=", ">", "<", ">=", "<="} {
		g.addf("up %s 1", op)
		g.addf("up %s bool 1", op)
		g.addf("%s %s bool 1", rate, op)
		g.addf("process_resident_memory_bytes %s on (instance) group_left process_resident_memory_bytes offset 10m", op)
	}
	for _, e := range []string{
		`1 + 2 * 3`,
		`2 ^ 3 ^ 2`,
		`10 % 3 - -1`,
		`1 > bool 2`,
		`time() - 3600`,
		`-up`,
		`up / 0`,
		`-up / 0`,
		`0 / up`,
		`up % 0`,
		`process_resident_memory_bytes * on (pod, namespace) group_left (node) kube_pod_info`,
		`kube_pod_info * on (pod) group_right (instance) process_resident_memory_bytes`,
		`process_resident_memory_bytes / on (cluster, namespace, pod) group_left (node, created_by_name) kube_pod_info`,
		`sum by (cluster) (rate(http_requests_total{code=~"5.."}[5m])) / sum by (cluster) (rate(http_requests_total[5m]))`,
		`sum by (cluster, handler) (rate(http_requests_total[5m])) / on (cluster) group_left sum by (cluster) (rate(http_requests_total[5m]))`,
		`sum by (cluster, instance) (rate(http_requests_total[5m])) * on (cluster, instance) group_left up`,
		`up * on (instance) group_left (nodename) label_replace(node_uname_info, "instance", "$1", "instance", "(.*)")`,
		`node_memory_Active_bytes * on (instance) group_left (nodename, release) node_uname_info`,
		`node_memory_Active_bytes + on (instance, cluster) group_left node_uname_info`,
		`up + on (instance) up`,
		`up * ignoring (replica) up`,
		`up == on (cluster, instance) group_right up`,
		`kube_pod_info * on (namespace) group_left process_resident_memory_bytes`,
		`http_requests_total - http_requests_total offset 1h`,
		`rate(http_requests_total[5m]) > on (instance) group_left 0.9 * avg by (instance) (rate(http_requests_total[5m]))`,
		`up{job="api"} and on (instance) rate(http_requests_total{code="500"}[5m]) > 0.05`,
		`up{job="api"} and up == 0`,
		`up or vector(0)`,
		`up{job="api"} or on (pod) kube_pod_info`,
		`node_memory_Active_bytes or on () vector(1)`,
		`up unless up{job="api"}`,
		`http_requests_total unless on (instance) up == 0`,
		`process_resident_memory_bytes unless ignoring (job) kube_pod_info`,
		`(up and up offset 10m) or up offset -10m`,
		`up and on (cluster) count by (cluster) (up) > 3`,
		`vector(1) and on () absent(nonexistent_metric)`,
		`sum(up) / count(up)`,
		`scalar(sum(up{job="api"})) * up`,
		`up > bool on (instance) group_left up offset 30m`,
		`node_memory_Active_bytes - ignoring (cluster) node_memory_Active_bytes`,
		`up * on () group_left vector(2)`,
	} {
		g.add(e)
	}
}

func (g *gen) math() {
	g.fam = "math"
	small := `process_resident_memory_bytes / 1e9`
	rate := `rate(http_requests_total[5m])`
	for _, fn := range []string{"abs", "ceil", "floor", "exp", "ln", "log2", "log10", "sqrt", "round", "sgn",
		"sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh", "asinh", "acosh", "atanh", "deg", "rad"} {
		g.addf("%s(%s)", fn, small)
	}
	// Negative input, outside the domain of some.
	for _, fn := range []string{"abs", "ceil", "floor", "ln", "log2", "sqrt", "sgn", "asin", "acos", "acosh", "atanh"} {
		g.addf("%s(-%s)", fn, rate)
	}
	for _, e := range []string{
		`round(` + rate + `, 0.1)`,
		`round(` + rate + `, 5)`,
		`round(process_resident_memory_bytes, 1e6)`,
		`clamp(` + rate + `, 1, 5)`,
		`clamp(` + rate + `, 5, 1)`,
		`clamp(up, -1, 0.5)`,
		`clamp_min(` + rate + `, 2)`,
		`clamp_max(` + rate + `, 2)`,
		`clamp_max(node_memory_Active_bytes, 8e9)`,
		`scalar(up)`,
		`scalar(sum(up))`,
		`scalar(nonexistent_metric)`,
		`vector(scalar(count(up)))`,
		`vector(1)`,
		`pi()`,
		`exp(-up)`,
		`ln(up)`,
		`sqrt(-up)`,
		`acosh(up + 1)`,
		`abs(delta(process_resident_memory_bytes[10m]))`,
		`sgn(deriv(node_memory_Active_bytes[10m]))`,
		`timestamp(up)`,
		`timestamp(node_memory_Active_bytes offset 5m)`,
		`timestamp(rate(http_requests_total[5m]))`,
		`time()`,
		`time() - timestamp(up)`,
	} {
		g.add(e)
	}
}

func (g *gen) timeFuncs() {
	g.fam = "time"
	for _, fn := range []string{"minute", "hour", "day_of_week", "day_of_month", "day_of_year", "days_in_month", "month", "year"} {
		g.addf("%s()", fn)
		g.addf("%s(timestamp(up{job=\"api\"}))", fn)
	}
	g.addf("hour(vector(%s))", g.at)
	g.add(`hour(vector(time() - 86400 * 45))`)
	g.add(`days_in_month(vector(1709251200))`) // 2024-03-01, after a leap February
}

func (g *gen) histograms() {
	g.fam = "histogram"
	for _, b := range classicBuckets {
		for _, q := range []string{"0", "0.25", "0.5", "0.9", "0.99", "1"} {
			g.addf("histogram_quantile(%s, sum by (le) (rate(%s[5m])))", q, b)
		}
		g.addf("histogram_quantile(0.9, sum by (le, cluster) (rate(%s[5m])))", b)
		g.addf("histogram_quantile(0.9, sum by (le, handler) (rate(%s[10m])))", b)
		g.addf("histogram_quantile(0.75, rate(%s[5m]))", b)
		g.addf("histogram_quantile(0.5, %s)", b)
		g.addf("histogram_quantile(-0.5, sum by (le) (rate(%s[5m])))", b)
		g.addf("histogram_quantile(1.5, sum by (le) (rate(%s[5m])))", b)
		g.addf("histogram_fraction(0, 0.1, sum by (le) (rate(%s[5m])))", b)
		g.addf("histogram_fraction(0.02, 0.3, sum by (le, cluster) (rate(%s[5m])))", b)
	}
	b := classicBuckets[0]
	g.addf("histogram_quantile(0.9, sum by (le) (rate(%s{handler=\"/healthz\"}[5m])))", b)
	g.addf("histogram_quantile(0.9, sum by (le) (increase(%s[1h])))", b)
	g.addf("histogram_quantile(0.9, sum by (le, replica) (rate(%s[5m])))", b)
	g.addf("histogram_quantile(0.9, sum without (instance, method) (rate(%s[5m])))", b)
	g.add(`histogram_quantile(0.9, sum by (le) (rate(prometheus_http_request_duration_seconds_bucket[1m])))`)
	g.add(`sum(rate(http_request_duration_seconds_sum[5m])) / sum(rate(http_request_duration_seconds_count[5m]))`)

	n := nativeHist
	g.add(n)
	g.addf("%s{cluster=~\"europe/.*\"}", n)
	for _, q := range []string{"0", "0.5", "0.9", "0.99", "1"} {
		g.addf("histogram_quantile(%s, sum(rate(%s[5m])))", q, n)
	}
	for _, e := range []string{
		`histogram_quantile(0.9, sum by (cluster) (rate(%[1]s[1m])))`,
		`histogram_quantile(0.9, rate(%[1]s[5m]))`,
		`histogram_quantile(0.9, %[1]s)`,
		`histogram_count(rate(%[1]s[5m]))`,
		`histogram_sum(rate(%[1]s[5m]))`,
		`histogram_avg(rate(%[1]s[5m]))`,
		`histogram_stddev(rate(%[1]s[5m]))`,
		`histogram_stdvar(rate(%[1]s[5m]))`,
		`histogram_fraction(0, 0.1, rate(%[1]s[5m]))`,
		`histogram_fraction(-Inf, 0.05, sum(rate(%[1]s[5m])))`,
		`histogram_count(%[1]s)`,
		`histogram_sum(sum by (cluster) (%[1]s))`,
		`histogram_avg(increase(%[1]s[10m]))`,
		`histogram_stddev(%[1]s)`,
		`rate(%[1]s[5m])`,
		`increase(%[1]s[2m])`,
		`irate(%[1]s[1m])`,
		`resets(%[1]s[10m])`,
		`delta(%[1]s[5m])`,
		`sum(rate(%[1]s[5m]))`,
		`sum by (cluster) (%[1]s)`,
		`avg(rate(%[1]s[5m]))`,
		`%[1]s * 2`,
		`%[1]s / on () group_left vector(4)`,
		`%[1]s + %[1]s`,
		`count_over_time(%[1]s[5m])`,
		`last_over_time(%[1]s[5m])`,
		`max_over_time(%[1]s[5m])`,
		`sum_over_time(%[1]s[2m])`,
		`avg_over_time(%[1]s[2m])`,
		`histogram_count(sum(rate(%[1]s[5m]))) - sum(rate(rpc_classic_duration_seconds_count[5m]))`,
	} {
		g.addf(e, n)
	}
}

func (g *gen) subqueries() {
	g.fam = "subquery"
	for _, e := range []string{
		`max_over_time(rate(http_requests_total[5m])[30m:1m])`,
		`avg_over_time(up[1h:])`,
		`min_over_time(sum by (cluster) (up)[20m:2m] offset 10m)`,
		`sum_over_time(deriv(node_memory_Active_bytes[10m])[1h:10m])`,
		`quantile_over_time(0.5, process_resident_memory_bytes[30m:45s])`,
		`max_over_time(max_over_time(up[5m:1m])[30m:5m])`,
		`last_over_time(rate(http_requests_total[5m])[10m:1m] @ %[1]s)`,
		`count_over_time(up[10m:7s])`,
		`deriv(rate(http_requests_total[5m])[30m:1m])`,
		`predict_linear(node_memory_Active_bytes[30m:1m], 3600)`,
		`rate(http_requests_total[10m:30s])`,
		`irate(http_requests_total[10m:1m])`,
		`resets(http_requests_total[1h:1m])`,
		`increase(sum by (cluster) (http_requests_total)[1h:5m])`,
		`changes(up[1h:1m])`,
		`stddev_over_time(sum(rate(http_requests_total[5m]))[1h:5m])`,
		`absent_over_time(up{job="api",instance="api-eu-1:8080"}[30m:1m])`,
		`present_over_time(rate(http_requests_total[1m])[10m:])`,
		`max_over_time(histogram_quantile(0.9, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))[1h:5m])`,
		`avg_over_time(up[30m:1m] offset -30m)`,
		`min_over_time((up * 2)[10m:1m] @ end())`,
		`sum_over_time((up == 0)[1h:30s])`,
	} {
		g.add(strings.ReplaceAll(e, "%[1]s", g.at))
	}
}

func (g *gen) offsetsAndAt() {
	g.fam = "offset_at"
	for _, e := range []string{
		`up offset 1h`,
		`up offset -1h`,
		`up offset 7m30s`,
		`up offset 1d`,
		`rate(http_requests_total[5m] offset 30m)`,
		`rate(http_requests_total[5m] offset -30m)`,
		`sum by (cluster) (up offset 5m)`,
		`sum(up offset -10m) by (job)`,
		`http_requests_total @ %[1]s`,
		`http_requests_total{code="200"} @ %[1]s offset 1h`,
		`http_requests_total{code="200"} @ %[1]s offset -1h`,
		`rate(http_requests_total[5m] @ %[1]s)`,
		`sum by (cluster) (rate(http_requests_total[5m] @ %[1]s))`,
		`up @ start()`,
		`up @ end()`,
		`rate(http_requests_total[5m] @ end())`,
		`rate(http_requests_total[5m] @ start() offset -5m)`,
		`max_over_time(up[1h] @ start())`,
		`max_over_time(rate(http_requests_total[5m])[1h:5m] @ %[1]s)`,
		`up @ 100`,
		`up - up @ %[1]s`,
		`timestamp(up @ %[1]s)`,
		`process_resident_memory_bytes / process_resident_memory_bytes @ start()`,
		`avg_over_time(process_resident_memory_bytes[10m] @ end() offset 10m)`,
		`sum(up @ %[1]s) by (cluster)`,
		`http_requests_total offset 2h - http_requests_total offset 3h`,
	} {
		g.add(strings.ReplaceAll(e, "%[1]s", g.at))
	}
}

func (g *gen) absent() {
	g.fam = "absent"
	for _, e := range []string{
		`absent(nonexistent_metric)`,
		`absent(nonexistent_metric{job="x",instance=~"y.*"})`,
		`absent(up{job="api"})`,
		`absent(up{job="nope",cluster="x"})`,
		`absent(http_requests_total{instance="api-eu-1:8080",code="200",handler="/api/orders",method="GET"})`,
		`absent(sum(nonexistent_metric))`,
		`absent(rate(nonexistent_metric[5m]))`,
		`absent_over_time(nonexistent_metric{job="x"}[5m])`,
		`absent_over_time(http_requests_total{instance="api-us-1:8080",code="200"}[2m])`,
		`absent_over_time(up{replica="prometheus-prometheus-europe-eu-prometheus-0"}[1m])`,
	} {
		g.add(e)
	}
}

func (g *gen) labels() {
	g.fam = "label"
	for _, e := range []string{
		`label_replace(up, "site", "$1", "cluster", "([^/]+)/.*")`,
		`label_replace(up{job="api"}, "host", "$1", "instance", "(.*):.*")`,
		`label_replace(rate(http_requests_total[5m]), "code_class", "${1}xx", "code", "(.).*")`,
		`label_replace(up, "replica", "r", "", "")`,
		`label_replace(up, "instance", "", "instance", ".*")`,
		`label_replace(up, "instance", "same", "", "")`,
		`label_replace(up, "x", "$1", "instance", "(")`,
		`label_replace(up, "__name__", "renamed", "", "")`,
		`label_join(up, "id", "-", "job", "instance")`,
		`label_join(node_uname_info, "where", ",", "nodename", "cluster", "replica")`,
		`label_join(up, "job", "", "")`,
		`sum by (site) (label_replace(rate(http_requests_total[5m]), "site", "$1", "cluster", "([^/]+)/.*"))`,
	} {
		g.add(e)
	}
}

func (g *gen) sorting() {
	g.fam = "sort"
	for _, e := range []string{
		`sort(up)`,
		`sort_desc(up)`,
		`sort(process_resident_memory_bytes)`,
		`sort_desc(process_resident_memory_bytes)`,
		`sort(rate(http_requests_total[5m]))`,
		`sort_desc(sum by (handler) (rate(http_requests_total[10m])))`,
		`sort(node_memory_Active_bytes / 1e9)`,
		`sort_desc(ln(up))`,
		`sort(histogram_quantile(0.9, sum by (le, cluster) (rate(http_request_duration_seconds_bucket[5m]))))`,
		`sort_desc(count_values("v", up))`,
		`sort(up) + 1`,
	} {
		g.add(e)
	}
}

func (g *gen) misc() {
	g.fam = "misc"
	for _, e := range []string{
		`"literal"`,
		`42`,
		`-Inf`,
		`NaN`,
		`(up)`,
		`((rate(http_requests_total[5m])))`,
		`up[5m]`,
		`rate(http_requests_total[5m])[30m:1m]`,
		`sum(rate(http_requests_total[5m])) by (code) / ignoring (code) group_left sum(rate(http_requests_total[5m]))`,
		`topk(3, sum by (cluster, instance) (rate(http_requests_total[5m])))`,
		`sum by (instance) (rate(http_requests_total[5m])) > 15`,
		`count(count by (cluster, replica) (up))`,
		`count by (cluster) (up == 1)`,
		`max(timestamp(up)) - min(timestamp(up))`,
		`avg_over_time(node_memory_Active_bytes[10m]) > bool 1e9`,
		`sum by (cluster) (increase(http_requests_total[1h])) / 3600`,
		`rate(http_requests_total[5m]) * on (instance) group_left (pod) label_replace(up{job="api"}, "pod_name", "$1", "pod", "(.*)")`,
		`sum by (job) (up{job=~"prometheus|thanos-sidecar"})`,
	} {
		g.add(e)
	}
}

// rejected are expressions the parser refuses without experimental features: every
// experimental function of the parser appears here, so the corpus proves that our engine refuses
// exactly what the Querier refuses. Some functions the Querier's older parser does not know at
// all; that is a parse error there too.
func (g *gen) staleness() {
	g.fam = FamilyStaleness
	for _, e := range []string{
		`ephemeral_progress_ratio`,
		`ephemeral_items_processed_total`,
		`up{job="ephemeral"}`,
		`ephemeral_progress_ratio[5s]`,
		`timestamp(ephemeral_progress_ratio)`,
		`last_over_time(ephemeral_progress_ratio[1m])`,
		`count_over_time(ephemeral_progress_ratio[10s])`,
		`present_over_time(ephemeral_progress_ratio[1s])`,
		`max_over_time(ephemeral_progress_ratio[3s])`,
		`rate(ephemeral_items_processed_total[10s])`,
		`increase(ephemeral_items_processed_total[5s])`,
		`resets(ephemeral_items_processed_total[10s])`,
		`changes(ephemeral_progress_ratio[10s])`,
		`sum by (replica) (ephemeral_progress_ratio)`,
		`count(ephemeral_items_processed_total)`,
		`absent(ephemeral_progress_ratio)`,
		`absent_over_time(ephemeral_progress_ratio[2s])`,
		`ephemeral_progress_ratio or ephemeral_items_processed_total`,
		`max_over_time(ephemeral_progress_ratio[10s:1s])`,
	} {
		g.add(e)
	}
}

func (g *gen) rejected() {
	g.fam = FamilyExperimental
	for _, e := range []string{
		`mad_over_time(process_resident_memory_bytes[10m])`,
		`ts_of_first_over_time(up[10m])`,
		`ts_of_last_over_time(up[10m])`,
		`ts_of_max_over_time(node_memory_Active_bytes[10m])`,
		`ts_of_min_over_time(node_memory_Active_bytes[10m])`,
		`double_exponential_smoothing(node_memory_Active_bytes[30m], 0.5, 0.5)`,
		`info(up)`,
		`info(process_resident_memory_bytes, {__name__="kube_pod_info"})`,
		`integral(rate(http_requests_total[5m])[30m:1m])`,
		`max_of(1, 2)`,
		`min_of(time(), 3)`,
		`histogram_quantiles(sum by (le) (rate(http_request_duration_seconds_bucket[5m])), "q", 0.5, 0.9)`,
		`start()`,
		`end()`,
		`step()`,
		`range()`,
		`start_timestamp(up)`,
		`sort_by_label(up, "instance")`,
		`sort_by_label_desc(up, "cluster", "instance")`,
		`limitk(2, up)`,
		`limitk by (cluster) (1, process_resident_memory_bytes)`,
		`limit_ratio(0.5, up)`,
		`limit_ratio(-0.3, rate(http_requests_total[5m]))`,
		`up + on (instance) fill(0) up`,
	} {
		g.add(e)
	}
}

// durationExprs are arithmetic in ranges, offsets and steps: always on in our parser, behind a
// flag the Querier does not set in its older one.
func (g *gen) durationExprs() {
	g.fam = "duration_expr"
	for _, e := range []string{
		`rate(http_requests_total[5m+1m])`,
		`up offset (30m * 2)`,
		`max_over_time(up[1h:(30s*2)])`,
	} {
		g.add(e)
	}
}
