// Package stores opens the set of stores a command reads: it discovers the Prometheus pods and
// Thanos services of every kube context asked (all contexts at once), chooses the replica labels
// and connects, so that a command only maps its flags to a Config and words what comes back.
package stores

import (
	"context"
	"slices"

	"k8s.io/cli-runtime/pkg/genericclioptions"

	"github.com/globalquery/kubectl-globalquery/pkg/connect"
	"github.com/globalquery/kubectl-globalquery/pkg/failure"
	"github.com/globalquery/kubectl-globalquery/pkg/fanout"
)

// DefaultReplicaLabels are the operator's default replica label and the common short form.
var DefaultReplicaLabels = []string{"prometheus_replica", "replica"}

// Source says where the replica labels came from.
type Source string

const (
	FromFlag    Source = "flag"
	FromObjects Source = "Prometheus objects"
	FromDefault Source = "default"
)

// Config says where the stores are and how to reach them.
type Config struct {
	// Kube loads the kubeconfig with kubectl's overrides (namespace, server, credentials). Its
	// Context must be nil: Contexts and AllContexts say which contexts to read.
	Kube        *genericclioptions.ConfigFlags
	Contexts    []string // none: the current context
	AllContexts bool

	Service  string // name of the services in front of Prometheus pods
	Selector string // label selector for those services instead of Service
	PortName string
	Port     int
	// Endpoints are StoreAPI addresses read directly, without discovery.
	Endpoints []string
	// PreferRemoteRead reads every Prometheus through remote read, even where a sidecar runs.
	PreferRemoteRead bool
	// StoreSelector selects Thanos StoreAPI services to read besides the Prometheus pods;
	// PreferQuerier reads a cluster through one of its Queriers alone.
	StoreSelector string
	PreferQuerier bool

	// ReplicaLabels as the user gave them; nil takes them from the Prometheus objects, or else
	// DefaultReplicaLabels.
	ReplicaLabels []string
	// PartialResponse opens the set when some stores fail, each one a warning; otherwise any
	// failure is the error.
	PartialResponse bool

	Connect  connect.Options
	Progress Progress // may be nil
}

// Progress hears how opening goes, for a status line.
type Progress interface {
	Discovered(pods, contexts int)
	Connected(*connect.Set)
}

// Warning is a problem that leaves the rest usable: a namespace the user may not read, a
// context with no stores, a store down under PartialResponse.
type Warning struct {
	Context string // set when the names of stores carry their context
	Message string
	// Err is the failure warned of, when it is one, for an edge to word.
	Err error
	// Partial: a store missing from every answer (PartialResponse).
	Partial bool
}

func (w Warning) String() string { return w.In(failure.Plain) }

// In is the warning with the knobs it names in words.
func (w Warning) In(words failure.Words) string {
	msg := w.Message
	if w.Err != nil {
		msg = failure.Word(w.Err, words)
	}
	if w.Context != "" {
		return "context " + w.Context + ": " + msg
	}
	return msg
}

// unreachable is stores that could not be connected to, one per line; when other stores could
// be, with the way to answer from those.
type unreachable struct {
	errs   []error
	others bool
}

func (e *unreachable) Error() string { return e.WordIn(failure.Plain) }

func (e *unreachable) WordIn(w failure.Words) string {
	msg := failure.Join(e.errs...).(failure.Worded).WordIn(w)
	if e.others {
		msg += failure.Message("; use {partial-response} to answer from the other stores").In(w)
	}
	return msg
}

func (e *unreachable) Unwrap() []error { return e.errs }

// Set is the connected stores with the replica labels that tell their HA replicas apart.
type Set struct {
	*connect.Set
	ReplicaLabels       []string
	ReplicaLabelsSource Source
}

// Open discovers and connects to the stores. Close the set when done.
func Open(ctx context.Context, cfg Config) (*Set, []Warning, error) {
	out := &Set{ReplicaLabels: cfg.ReplicaLabels, ReplicaLabelsSource: FromFlag}
	var (
		found    *discovered
		warnings []Warning
	)
	if len(cfg.Endpoints) == 0 {
		var err error
		found, err = discover(ctx, &cfg)
		if found != nil {
			warnings = found.warnings
		}
		if err != nil {
			return nil, warnings, err
		}
		if cfg.Progress != nil {
			pods := 0
			for _, c := range found.clusters {
				pods += len(c.Targets)
			}
			cfg.Progress.Discovered(pods, len(found.clusters))
		}
	} else {
		found = &discovered{}
	}
	switch {
	case cfg.ReplicaLabels != nil:
	case len(found.replicaLabels) > 0:
		out.ReplicaLabels, out.ReplicaLabelsSource = slices.Sorted(slices.Values(found.replicaLabels)), FromObjects
	default:
		out.ReplicaLabels, out.ReplicaLabelsSource = slices.Clone(DefaultReplicaLabels), FromDefault
	}
	out.Set = connectAll(ctx, &cfg, found)
	if cfg.Progress != nil {
		cfg.Progress.Connected(out.Set)
	}
	if len(out.Failures) > 0 {
		if !cfg.PartialResponse || len(out.Stores) == 0 {
			out.Close()
			errs := make([]error, len(out.Failures))
			for i, f := range out.Failures {
				errs[i] = f
			}
			return nil, warnings, &unreachable{errs: errs, others: len(out.Stores) > 0}
		}
		for _, f := range out.Failures {
			pw := fanout.PartialWarning(f)
			warnings = append(warnings, Warning{Message: pw.Error(), Err: pw, Partial: true})
		}
	}
	return out, warnings, nil
}
