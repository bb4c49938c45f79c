// Package discovery finds the Prometheus pods behind `prometheus-operated` services (or any
// services the user names) and how to read each: the port of its Thanos sidecar's StoreAPI, or,
// for a Prometheus without a sidecar, its web port, which serves remote read.
package discovery

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/kubernetes"
)

const (
	// DefaultService is the headless service the Prometheus Operator creates for every Prometheus.
	DefaultService = "prometheus-operated"
	// DefaultPortName is the sidecar gRPC port's name in that service.
	DefaultPortName = "grpc"
	// DefaultPort is the sidecar's StoreAPI port when the service names none.
	DefaultPort = 10901
	// WebPortName is Prometheus's own port's name in prometheus-operated.
	WebPortName = "web"
	// DefaultWebPort is Prometheus's web port when the service names none.
	DefaultWebPort = 9090
)

// Kind says how a Prometheus pod is read.
type Kind string

const (
	// Sidecar: through the Thanos sidecar's StoreAPI (gRPC).
	Sidecar Kind = "sidecar"
	// Plain: a Prometheus without a sidecar, through remote read on its web port.
	Plain Kind = "plain"
	// StoreAPI: any other Thanos StoreAPI server (Store Gateway, Ruler, Receive, Querier), read
	// over gRPC like a sidecar; its Info says which component it is.
	StoreAPI Kind = "storeapi"
)

// Options say what to look for.
type Options struct {
	Namespace string // "" = every namespace the user may list
	Service   string // service name; ignored when Selector is set
	Selector  string // label selector for services
	PortName  string
	Port      int // used when no port is named PortName
	// PreferRemoteRead reads every pod through remote read, even where a sidecar runs.
	PreferRemoteRead bool

	// storeAPI: the services are Thanos StoreAPI services, not Prometheus ones (DiscoverStores).
	storeAPI bool
}

// Target is one pod to open a tunnel to.
type Target struct {
	Namespace, Pod, Service string
	Kind                    Kind
	// Port is the sidecar's StoreAPI port, WebPort Prometheus's; Kind says which one is read.
	Port, WebPort int
}

func (t Target) String() string { return t.Namespace + "/" + t.Pod }

// ReadPort is the port the target is read on: the sidecar's, or Prometheus's for a plain one.
func (t Target) ReadPort() int {
	if t.Kind == Plain {
		return t.WebPort
	}
	return t.Port
}

// Problem is something discovery could not do but that does not stop the rest: a namespace the
// user may not read, a pod that is not ready.
type Problem struct {
	Namespace, Pod string
	Err            error
}

func (p Problem) Error() string {
	where := p.Namespace
	if p.Pod != "" {
		where += "/" + p.Pod
	}
	return where + ": " + p.Err.Error()
}

// Result is what discovery found.
type Result struct {
	Targets  []Target
	Problems []Problem
}

// NotFoundError says no service matched, and how to point elsewhere.
type NotFoundError struct {
	What, Where string
	// Hint replaces the advice about --service, -l and --endpoint when set.
	Hint string
}

func (e *NotFoundError) Error() string {
	hint := e.Hint
	if hint == "" {
		hint = "point at other services with --service NAME or -l SELECTOR, or at StoreAPI addresses directly with --endpoint HOST:PORT"
	}
	return fmt.Sprintf("no %s found in %s; %s", e.What, e.Where, hint)
}

// DiscoverStores finds the ready pods behind every service matching selector that serves the
// Thanos StoreAPI (Store Gateway, Ruler, Receive, Querier), on the service port named portName,
// else port. Every pod is a store of its own: Store Gateway shards hold different blocks, and
// what replicas hold twice the merge drops.
func DiscoverStores(ctx context.Context, kc kubernetes.Interface, namespace, selector, portName string, port int) (*Result, error) {
	res, err := Discover(ctx, kc, Options{Namespace: namespace, Selector: selector, PortName: portName, Port: port, storeAPI: true})
	var nf *NotFoundError
	if errors.As(err, &nf) {
		nf.What = fmt.Sprintf("Thanos services matching --store-selector %q", selector)
		nf.Hint = "compare the selector with the labels of your Thanos services (kubectl get services -A --show-labels)"
	}
	return res, err
}

// Discover lists the matching services and the ready pods behind each through its EndpointSlices.
func Discover(ctx context.Context, kc kubernetes.Interface, o Options) (*Result, error) {
	if o.Service == "" {
		o.Service = DefaultService
	}
	if o.PortName == "" {
		o.PortName = DefaultPortName
	}
	if o.Port == 0 {
		o.Port = DefaultPort
	}
	lo := metav1.ListOptions{}
	what := fmt.Sprintf("service %q", o.Service)
	if o.Selector != "" {
		lo.LabelSelector = o.Selector
		what = fmt.Sprintf("services matching %q", o.Selector)
	} else {
		lo.FieldSelector = fields.OneTermEqualSelector("metadata.name", o.Service).String()
	}

	res := &Result{}
	svcs, err := listServices(ctx, kc, o.Namespace, lo, res)
	if err != nil {
		return nil, err
	}
	if len(svcs) == 0 {
		where := "any namespace you may list"
		if o.Namespace != "" {
			where = "namespace " + o.Namespace
		}
		if len(res.Problems) > 0 {
			where += fmt.Sprintf(" (%d namespaces could not be read)", len(res.Problems))
		}
		return res, &NotFoundError{What: what, Where: where}
	}
	// One list of every matching EndpointSlice where allowed, rather than a request per service:
	// with dozens of namespaces, per-service lists queue behind client-go's rate limit.
	all, bulkErr := slicesFor(ctx, kc, o.Namespace, svcs)
	for _, svc := range svcs {
		var (
			slices []discoveryv1.EndpointSlice
			err    error
		)
		if bulkErr == nil {
			slices = all[svc.Namespace+"/"+svc.Name]
		} else {
			slices, err = listSlices(ctx, kc, svc.Namespace, svc.Name)
		}
		if err != nil {
			res.Problems = append(res.Problems, Problem{Namespace: svc.Namespace, Err: err})
			continue
		}
		targets, problems := podsBehind(&svc, slices, o)
		res.Targets = append(res.Targets, targets...)
		res.Problems = append(res.Problems, problems...)
	}
	slices.SortFunc(res.Targets, func(a, b Target) int {
		return strings.Compare(a.Namespace+"/"+a.Pod, b.Namespace+"/"+b.Pod)
	})
	return res, nil
}

// listServices lists across all namespaces when allowed; otherwise namespace by namespace, so
// that a user who may read only some namespaces still gets those.
func listServices(ctx context.Context, kc kubernetes.Interface, ns string, lo metav1.ListOptions, res *Result) ([]corev1.Service, error) {
	list, err := kc.CoreV1().Services(ns).List(ctx, lo)
	if err == nil {
		return list.Items, nil
	}
	if ns != "" || !apierrors.IsForbidden(err) {
		return nil, explainAPI(err, "list", "services", ns)
	}
	nsList, nerr := kc.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
	if nerr != nil {
		return nil, fmt.Errorf("%w; and %w; name a namespace with -n", explainAPI(err, "list", "services", ""), explainAPI(nerr, "list", "namespaces", ""))
	}
	var out []corev1.Service
	for _, n := range nsList.Items {
		l, err := kc.CoreV1().Services(n.Name).List(ctx, lo)
		if err != nil {
			res.Problems = append(res.Problems, Problem{Namespace: n.Name, Err: explainAPI(err, "list", "services", n.Name)})
			continue
		}
		out = append(out, l.Items...)
	}
	return out, nil
}

// slicesFor lists the EndpointSlices of all the services in one request, keyed by
// namespace/service.
func slicesFor(ctx context.Context, kc kubernetes.Interface, ns string, svcs []corev1.Service) (map[string][]discoveryv1.EndpointSlice, error) {
	names := map[string]bool{}
	for _, s := range svcs {
		names[s.Name] = true
	}
	list := make([]string, 0, len(names))
	for n := range names {
		list = append(list, n)
	}
	sort.Strings(list)
	l, err := kc.DiscoveryV1().EndpointSlices(ns).List(ctx, metav1.ListOptions{
		LabelSelector: discoveryv1.LabelServiceName + " in (" + strings.Join(list, ",") + ")",
	})
	if err != nil {
		return nil, err
	}
	out := map[string][]discoveryv1.EndpointSlice{}
	for _, es := range l.Items {
		k := es.Namespace + "/" + es.Labels[discoveryv1.LabelServiceName]
		out[k] = append(out[k], es)
	}
	return out, nil
}

func listSlices(ctx context.Context, kc kubernetes.Interface, ns, svc string) ([]discoveryv1.EndpointSlice, error) {
	l, err := kc.DiscoveryV1().EndpointSlices(ns).List(ctx, metav1.ListOptions{
		LabelSelector: discoveryv1.LabelServiceName + "=" + svc,
	})
	if err != nil {
		return nil, explainAPI(err, "list", "endpointslices.discovery.k8s.io", ns)
	}
	return l.Items, nil
}

func podsBehind(svc *corev1.Service, slices_ []discoveryv1.EndpointSlice, o Options) ([]Target, []Problem) {
	var (
		targets  []Target
		problems []Problem
		seen     = map[string]bool{}
	)
	for _, es := range slices_ {
		port, web := o.Port, DefaultWebPort
		hasGRPC, hasWeb := false, false
		for _, p := range es.Ports {
			if p.Name == nil || p.Port == nil {
				continue
			}
			switch *p.Name {
			case o.PortName:
				port, hasGRPC = int(*p.Port), true
			case WebPortName:
				web, hasWeb = int(*p.Port), true
			}
		}
		// The operator lists the sidecar's grpc port only when the Prometheus has a sidecar;
		// one with only web is plain. A service naming neither keeps the old guess: a sidecar
		// on --port.
		kind := Sidecar
		switch {
		case o.storeAPI:
			// Prometheus's web port means nothing here: a Querier's http port may well be 9090.
			kind = StoreAPI
		case o.PreferRemoteRead || (hasWeb && !hasGRPC):
			kind = Plain
		}
		for _, ep := range es.Endpoints {
			if ep.TargetRef == nil || ep.TargetRef.Kind != "Pod" || seen[ep.TargetRef.Name] {
				continue
			}
			seen[ep.TargetRef.Name] = true
			if ep.Conditions.Ready != nil && !*ep.Conditions.Ready {
				problems = append(problems, Problem{Namespace: svc.Namespace, Pod: ep.TargetRef.Name, Err: errors.New("pod is not ready (failing its readiness probe, or still starting: kubectl describe pod)")})
				continue
			}
			targets = append(targets, Target{Namespace: svc.Namespace, Pod: ep.TargetRef.Name, Service: svc.Name,
				Kind: kind, Port: port, WebPort: web})
		}
	}
	if len(targets) == 0 && len(problems) == 0 {
		problems = append(problems, Problem{Namespace: svc.Namespace, Err: fmt.Errorf("service %s has no endpoints", svc.Name)})
	}
	return targets, problems
}

// explainAPI words an API error the way kubectl users know it: verb, resource, namespace.
func explainAPI(err error, verb, resource, ns string) error {
	scope := "at the cluster scope"
	if ns != "" {
		scope = "in namespace " + ns
	}
	switch {
	case apierrors.IsForbidden(err):
		return fmt.Errorf("forbidden: you may not %s %s %s (RBAC)", verb, resource, scope)
	case apierrors.IsUnauthorized(err):
		return fmt.Errorf("unauthorized: the API server rejected your credentials (expired token or wrong user?)")
	}
	return fmt.Errorf("%s %s %s: %w", verb, resource, scope, err)
}
