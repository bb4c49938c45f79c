package bed

import (
	"context"
	"fmt"
	"strconv"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
)

// The Thanos components a cluster runs besides the sidecars, shown to kube the way kube-thanos
// and the common Helm charts label them, in ThanosNamespace: a Store Gateway and a Querier. Their
// pods port-forward to the bed's real Store Gateway and to the real Querier over the sidecars.
const (
	ThanosNamespace     = "monitoring"
	StoreGatewayService = "thanos-store"
	QuerierService      = "thanos-query"
	// ThanosPartOf is the label value both services share, for a selector that takes them all.
	ThanosPartOf = "thanos"
	// querierReplicas: more than one, as Querier Deployments usually run, so that choosing one
	// of interchangeable replicas is exercised.
	querierReplicas = 2
)

// thanosApp is one Thanos component's StatefulSet, service and port-forwards.
type thanosApp struct {
	name, component string
	replicas        int
	ports           []corev1.ContainerPort // named; the service exposes the same names
	forwards        map[int]string         // pod port -> 127.0.0.1:port
}

func (r *run) thanosApps() []thanosApp {
	tcp := corev1.ProtocolTCP
	local := func(p int) string { return "127.0.0.1:" + strconv.Itoa(p) }
	return []thanosApp{
		{name: StoreGatewayService, component: "object-store-gateway", replicas: 1,
			ports:    []corev1.ContainerPort{{Name: "grpc", ContainerPort: 10901, Protocol: tcp}, {Name: "http", ContainerPort: 10902, Protocol: tcp}},
			forwards: map[int]string{10901: local(r.storeGRPC), 10902: local(r.storeHTTP)}},
		{name: QuerierService, component: "query-layer", replicas: querierReplicas,
			ports:    []corev1.ContainerPort{{Name: "grpc", ContainerPort: 10901, Protocol: tcp}, {Name: "http", ContainerPort: 9090, Protocol: tcp}},
			forwards: map[int]string{10901: local(r.queryGRPC), 9090: local(r.queryHTTP)}},
	}
}

func (a *thanosApp) pods() []string {
	out := make([]string, a.replicas)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%d", a.name, i)
	}
	return out
}

func (a *thanosApp) labels() map[string]string {
	return map[string]string{
		"app.kubernetes.io/name":      a.name,
		"app.kubernetes.io/instance":  a.name,
		"app.kubernetes.io/component": a.component,
		"app.kubernetes.io/part-of":   ThanosPartOf,
	}
}

func (r *run) thanosForwards() []kwokForward {
	var out []kwokForward
	for _, a := range r.thanosApps() {
		for _, p := range a.pods() {
			out = append(out, kwokForward{Namespace: ThanosNamespace, Pod: p, Ports: a.forwards})
		}
	}
	return out
}

// createThanos creates the Thanos components' objects. Both are StatefulSets, the Querier too
// (a Deployment in real installs): kwok's port-forwards are keyed by pod name, which a
// Deployment would randomise.
func (r *run) createThanos(ctx context.Context, cs *kubernetes.Clientset, create func(string, func(context.Context) error) error) error {
	_, thanosImg, _ := r.images()
	opts := metav1.CreateOptions{}
	for _, a := range r.thanosApps() {
		var svcPorts []corev1.ServicePort
		for _, p := range a.ports {
			svcPorts = append(svcPorts, corev1.ServicePort{Name: p.Name, Port: p.ContainerPort, Protocol: p.Protocol, TargetPort: intstr.FromString(p.Name)})
		}
		svc := &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: a.name, Namespace: ThanosNamespace, Labels: a.labels()},
			Spec:       corev1.ServiceSpec{Selector: a.labels(), Ports: svcPorts},
		}
		if err := create("service "+ThanosNamespace+"/"+a.name, func(ctx context.Context) error {
			_, err := cs.CoreV1().Services(ThanosNamespace).Create(ctx, svc, opts)
			return err
		}); err != nil {
			return err
		}
		replicas := int32(a.replicas)
		args := []string{"store", "--objstore.config-file=/etc/thanos/objstore.yaml"}
		if a.name == QuerierService {
			// What the real Querier behind these pods is given, as a cluster would spell it.
			args = []string{"query", "--query.replica-label=replica"}
			for _, p := range promSpecs {
				args = append(args, "--endpoint=dnssrv+_grpc._tcp.prometheus-operated."+p.Namespace+".svc.cluster.local")
			}
		}
		sts := &appsv1.StatefulSet{
			ObjectMeta: metav1.ObjectMeta{Name: a.name, Namespace: ThanosNamespace, Labels: a.labels()},
			Spec: appsv1.StatefulSetSpec{
				Replicas:            &replicas,
				ServiceName:         a.name,
				PodManagementPolicy: appsv1.ParallelPodManagement,
				Selector:            &metav1.LabelSelector{MatchLabels: a.labels()},
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: a.labels()},
					Spec: corev1.PodSpec{
						NodeName:   nodeNames[0],
						Containers: []corev1.Container{{Name: "thanos", Image: thanosImg, Args: args, Ports: a.ports}},
					},
				},
			},
		}
		if err := create("statefulset "+ThanosNamespace+"/"+a.name, func(ctx context.Context) error {
			_, err := cs.AppsV1().StatefulSets(ThanosNamespace).Create(ctx, sts, opts)
			return err
		}); err != nil {
			return err
		}
	}
	return nil
}

// waitThanos waits until the Thanos services' EndpointSlices list every pod as ready on grpc.
func (r *run) waitThanos(ctx context.Context, cs *kubernetes.Clientset, watch []*child) error {
	var last string
	err := r.poll(ctx, "Thanos services' EndpointSlices", watch, 200*time.Millisecond, func(ctx context.Context) (bool, error) {
		for _, a := range r.thanosApps() {
			list, err := cs.DiscoveryV1().EndpointSlices(ThanosNamespace).List(ctx, metav1.ListOptions{
				LabelSelector: discoveryv1.LabelServiceName + "=" + a.name})
			if err != nil {
				return false, err
			}
			ready := map[string]bool{}
			for _, sl := range list.Items {
				if !hasPort(sl.Ports, "grpc", 10901) {
					continue
				}
				for _, ep := range sl.Endpoints {
					if ep.TargetRef != nil && ep.Conditions.Ready != nil && *ep.Conditions.Ready {
						ready[ep.TargetRef.Name] = true
					}
				}
			}
			for _, p := range a.pods() {
				if !ready[p] {
					last = fmt.Sprintf("%s: ready %v", a.name, ready)
					return false, nil
				}
			}
		}
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("%w; slices seen: %s", err, last)
	}
	return nil
}

// thanosState fills what tests need to find the Thanos components in kube.
func (r *run) thanosState(st *State) {
	for _, a := range r.thanosApps() {
		switch a.name {
		case StoreGatewayService:
			st.StoreGatewayPods = a.pods()
		case QuerierService:
			st.QuerierPods = a.pods()
		}
	}
}
