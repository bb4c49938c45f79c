package discovery

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// These edge cases need states a healthy bed does not have on demand (an endpoint not ready,
// a slice without the port name, the same pod in two slices); the bed tests cover the rest.

func svc(ns string) *corev1.Service {
	return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: DefaultService, Namespace: ns}}
}

func slice(ns, name string, portName string, port int32, eps ...discoveryv1.Endpoint) *discoveryv1.EndpointSlice {
	p := port
	n := portName
	return &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{discoveryv1.LabelServiceName: DefaultService}},
		Ports:      []discoveryv1.EndpointPort{{Name: &n, Port: &p}},
		Endpoints:  eps,
	}
}

func ep(pod string, ready *bool) discoveryv1.Endpoint {
	return discoveryv1.Endpoint{TargetRef: &corev1.ObjectReference{Kind: "Pod", Name: pod}, Conditions: discoveryv1.EndpointConditions{Ready: ready}}
}

func TestReadyPodsBehindEndpointSlices(t *testing.T) {
	no, yes := false, true
	kc := fake.NewClientset(
		svc("eu"), svc("us"),
		slice("eu", "a", "grpc", 10901, ep("p-0", &yes), ep("p-1", &no)),
		slice("eu", "b", "grpc", 10901, ep("p-0", &yes)), // the same pod again
		slice("us", "c", "web", 9091, ep("q-0", nil)),    // web only: a Prometheus without sidecar
		svc("asia"),
		slice("asia", "d", "http", 8080, ep("r-0", nil)), // neither: a sidecar on the default port
	)
	res, err := Discover(context.Background(), kc, Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := []string{}
	for _, tg := range res.Targets {
		got = append(got, tg.String()+":"+string(tg.Kind)+":"+strconv.Itoa(tg.ReadPort()))
	}
	if strings.Join(got, " ") != "asia/r-0:sidecar:10901 eu/p-0:sidecar:10901 us/q-0:plain:9091" {
		t.Fatalf("targets %v", got)
	}
	if len(res.Problems) != 1 || res.Problems[0].Pod != "p-1" || !strings.Contains(res.Problems[0].Error(), "not ready") {
		t.Fatalf("problems %v", res.Problems)
	}
}

// Without the right to list services across namespaces, discovery goes namespace by namespace
// and reports the ones it may not read.
func TestForbiddenNamespacesAreReported(t *testing.T) {
	yes := true
	kc := fake.NewClientset(
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "eu"}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "us"}},
		svc("eu"), slice("eu", "a", "grpc", 10901, ep("p-0", &yes)),
	)
	kc.PrependReactor("list", "services", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if ns := a.GetNamespace(); ns == "" || ns == "us" {
			return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "services"}, "", errors.New("rbac"))
		}
		return false, nil, nil
	})
	res, err := Discover(context.Background(), kc, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Targets) != 1 || res.Targets[0].Pod != "p-0" {
		t.Fatalf("targets %v", res.Targets)
	}
	if len(res.Problems) != 1 || !strings.Contains(res.Problems[0].Error(), "forbidden: you may not list services in namespace us") {
		t.Fatalf("problems %v", res.Problems)
	}
}

// --prefer-remote-read reads every pod on its web port, sidecar or not.
func TestPreferRemoteRead(t *testing.T) {
	yes := true
	eu := slice("eu", "a", "grpc", 10901, ep("p-0", &yes))
	web, webPort := "web", int32(9090)
	eu.Ports = append(eu.Ports, discoveryv1.EndpointPort{Name: &web, Port: &webPort})
	res, err := Discover(context.Background(), fake.NewClientset(svc("eu"), eu), Options{PreferRemoteRead: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Targets) != 1 || res.Targets[0].Kind != Plain || res.Targets[0].ReadPort() != 9090 || res.Targets[0].Port != 10901 {
		t.Fatalf("targets %+v", res.Targets)
	}
	res, err = Discover(context.Background(), fake.NewClientset(svc("eu"), eu), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Targets[0].Kind != Sidecar || res.Targets[0].ReadPort() != 10901 {
		t.Fatalf("without the flag: %+v", res.Targets)
	}
}

func TestNothingFoundSaysWhereToLook(t *testing.T) {
	_, err := Discover(context.Background(), fake.NewClientset(), Options{Namespace: "eu", Selector: "app=prom"})
	var nf *NotFoundError
	if !errors.As(err, &nf) || !strings.Contains(err.Error(), `services matching "app=prom"`) || !strings.Contains(err.Error(), "namespace eu") {
		t.Fatalf("got %v", err)
	}
}
