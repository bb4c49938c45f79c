package bed

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// rulesFile is where the members of one Prometheus read their rules: one path for both replicas,
// as the operator mounts the same rule ConfigMap at the same path in every replica, so that the
// Querier sees one group evaluated twice rather than two groups.
func (r *run) rulesFile(m *member) string {
	return filepath.Join(r.dir, "rules", m.spec.Namespace+"-"+m.spec.Name()+".yml")
}

// writeRules writes the file whole, by rename, since both replicas write it at once.
func writeRules(path, content string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".rules-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(content); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// ruleGroups is the rule file of a member, the same on both replicas of a pair as the
// prometheus-operator renders a PrometheusRule for every replica: a recording rule, an alert
// that fires everywhere, one pending for the scrape target that stopped answering (its hour
// outlasts any test), one that fires only in united-states, and a rule that fails to evaluate
// (a one-to-one match over several series on each side). Groups are evaluated every
// few seconds so that every rule has been evaluated by the time the bed is ready.
func ruleGroups(m *member) string {
	var b strings.Builder
	fmt.Fprintf(&b, `groups:
- name: bed-recording
  interval: %s
  rules:
  - record: job:up:count
    expr: count by (job) (up)
  - record: bed:broken
    expr: up * on() up
- name: bed-alerts
  interval: %s
  rules:
  - alert: BedWatchdog
    expr: vector(1)
    labels:
      severity: none
    annotations:
      summary: Always firing, so that the alerting pipeline can be seen to work.
  - alert: BedScrapeTargetDown
    expr: up == 0
    for: 1h
    labels:
      severity: warning
    annotations:
      summary: '{{ $labels.instance }} of job {{ $labels.job }} is down.'
`, ruleInterval, ruleInterval)
	if m.spec.site.name == siteUS.name {
		b.WriteString(`  - alert: BedUnitedStatesOnly
    expr: vector(1)
    labels:
      severity: critical
    annotations:
      summary: Fires in united-states alone.
`)
	}
	return b.String()
}

// ruleInterval is how often the bed's rule groups are evaluated.
const ruleInterval = "2s"
