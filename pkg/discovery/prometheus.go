package discovery

import (
	"context"
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
)

// The operator's default name for the replica external label.
const operatorReplicaLabel = "prometheus_replica"

var prometheusGVR = schema.GroupVersionResource{Group: "monitoring.coreos.com", Version: "v1", Resource: "prometheuses"}

// OperatorLabels are the external label names that Prometheus objects declare.
type OperatorLabels struct {
	Replica []string // replicaExternalLabelName of each object (operator default when unset)
}

// ReadOperatorLabels lists the Prometheus Operator's Prometheus objects and returns the external
// label names they configure, so that dedup uses the names the cluster really sets instead of a
// guess. It returns nil, without error, where the CRD is absent or not readable: then the
// defaults apply.
func ReadOperatorLabels(ctx context.Context, dc dynamic.Interface, namespace string) *OperatorLabels {
	list, err := dc.Resource(prometheusGVR).Namespace(namespace).List(ctx, metav1.ListOptions{})
	if err != nil || len(list.Items) == 0 {
		return nil
	}
	out := &OperatorLabels{}
	for _, p := range list.Items {
		replica, found, _ := unstructured.NestedString(p.Object, "spec", "replicaExternalLabelName")
		if !found {
			replica = operatorReplicaLabel
		}
		// An empty name is how the operator is told to set no replica label at all.
		if replica != "" && !slices.Contains(out.Replica, replica) {
			out.Replica = append(out.Replica, replica)
		}
	}
	slices.Sort(out.Replica)
	return out
}
