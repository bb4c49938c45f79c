package bed

import (
	"fmt"
	"strings"
)

// kwok v0.8.0 ships no built-in stages: without these nothing it manages
// ever becomes Ready. They follow the lifecycle of kwok's node and "general"
// pod stages (create -> init containers -> ready, delete) with the delays
// cut to zero, because the bed waits on every step.

const kwokStageNodeInitialize = `apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: node-initialize
spec:
  resourceRef:
    apiGroup: v1
    kind: Node
  selector:
    matchExpressions:
    - key: '.status.conditions.[] | select( .type == "Ready" ) | .status'
      operator: NotIn
      values: ['True']
  next:
    statusTemplate: |
      {{ $now := Now }}
      {{ $since := or .metadata.creationTimestamp $now }}
      conditions:
      {{ range NodeConditions }}
      - type: {{ .type | Quote }}
        status: {{ .status | Quote }}
        reason: {{ .reason | Quote }}
        message: {{ .message | Quote }}
        lastHeartbeatTime: {{ $now | Quote }}
        lastTransitionTime: {{ $since | Quote }}
      {{ end }}
      addresses:
      {{ with NodeIP }}
      - type: InternalIP
        address: {{ . | Quote }}
      {{ end }}
      {{ with NodeName }}
      - type: Hostname
        address: {{ . | Quote }}
      {{ end }}
      {{ with NodePort }}
      daemonEndpoints:
        kubeletEndpoint:
          Port: {{ . }}
      {{ end }}
      allocatable:
        cpu: "32"
        memory: 128Gi
        pods: "110"
      capacity:
        cpu: "32"
        memory: 128Gi
        pods: "110"
      nodeInfo:
        architecture: amd64
        operatingSystem: linux
        kubeletVersion: {{ printf "kwok-%s" Version | Quote }}
        kubeProxyVersion: {{ printf "kwok-%s" Version | Quote }}
        containerRuntimeVersion: {{ printf "kwok-%s" Version | Quote }}
        kernelVersion: {{ printf "kwok-%s" Version | Quote }}
        osImage: ""
        machineID: ""
        bootID: ""
        systemUUID: ""
      phase: Running
`

// The heartbeat keeps the Ready condition fresh well inside the node
// monitor grace period of kube-controller-manager, which would otherwise mark
// the nodes NotReady and pull the pods out of their EndpointSlices.
const kwokStageNodeHeartbeat = `apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: node-heartbeat
spec:
  resourceRef:
    apiGroup: v1
    kind: Node
  selector:
    matchExpressions:
    - key: .status.phase
      operator: In
      values: [Running]
    - key: '.status.conditions.[] | select( .type == "Ready" ) | .status'
      operator: In
      values: ['True']
  delay:
    durationMilliseconds: 10000
    jitterDurationMilliseconds: 5000
  next:
    statusTemplate: |
      {{ $now := Now }}
      {{ $since := or .metadata.creationTimestamp $now }}
      conditions:
      {{ range NodeConditions }}
      - type: {{ .type | Quote }}
        status: {{ .status | Quote }}
        reason: {{ .reason | Quote }}
        message: {{ .message | Quote }}
        lastHeartbeatTime: {{ $now | Quote }}
        lastTransitionTime: {{ $since | Quote }}
      {{ end }}
  immediateNextStage: true
`

const kwokStagePodCreate = `apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: pod-create
spec:
  resourceRef:
    apiGroup: v1
    kind: Pod
  selector:
    matchExpressions:
    - key: .metadata.deletionTimestamp
      operator: DoesNotExist
    - key: .status.podIP
      operator: DoesNotExist
  next:
    event:
      type: Normal
      reason: Created
      message: Created container
    statusTemplate: |
      {{ $now := Now }}
      conditions:
      - type: Initialized
        {{ if .spec.initContainers }}
        status: "False"
        reason: ContainersNotInitialized
        {{ else }}
        status: "True"
        {{ end }}
        lastProbeTime: null
        lastTransitionTime: {{ $now | Quote }}
      - type: Ready
        status: "False"
        reason: ContainersNotReady
        lastProbeTime: null
        lastTransitionTime: {{ $now | Quote }}
      - type: ContainersReady
        status: "False"
        reason: ContainersNotReady
        lastProbeTime: null
        lastTransitionTime: {{ $now | Quote }}
      {{ if .spec.initContainers }}
      initContainerStatuses:
      {{ range .spec.initContainers }}
      - name: {{ .name | Quote }}
        image: {{ .image | Quote }}
        ready: false
        started: false
        restartCount: 0
        state:
          waiting:
            reason: PodInitializing
      {{ end }}
      {{ end }}
      containerStatuses:
      {{ range .spec.containers }}
      - name: {{ .name | Quote }}
        image: {{ .image | Quote }}
        ready: false
        started: false
        restartCount: 0
        state:
          waiting:
            reason: {{ if $.spec.initContainers }}PodInitializing{{ else }}ContainerCreating{{ end }}
      {{ end }}
      hostIP: {{ NodeIPWith .spec.nodeName | Quote }}
      podIP: {{ PodIPWith .spec.nodeName ( or .spec.hostNetwork false ) ( or .metadata.uid "" ) ( or .metadata.name "" ) ( or .metadata.namespace "" ) | Quote }}
      phase: Pending
`

const kwokStagePodInitRunning = `apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: pod-init-container-running
spec:
  resourceRef:
    apiGroup: v1
    kind: Pod
  selector:
    matchExpressions:
    - key: .metadata.deletionTimestamp
      operator: DoesNotExist
    - key: .status.phase
      operator: In
      values: [Pending]
    - key: '.status.conditions.[] | select( .type == "Initialized" ) | .status'
      operator: NotIn
      values: ['True']
    - key: .status.initContainerStatuses.[].state.waiting.reason
      operator: Exists
  next:
    statusTemplate: |
      {{ $now := Now }}
      initContainerStatuses:
      {{ range .spec.initContainers }}
      - name: {{ .name | Quote }}
        image: {{ .image | Quote }}
        ready: true
        started: true
        restartCount: 0
        state:
          running:
            startedAt: {{ $now | Quote }}
      {{ end }}
`

const kwokStagePodInitCompleted = `apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: pod-init-container-completed
spec:
  resourceRef:
    apiGroup: v1
    kind: Pod
  selector:
    matchExpressions:
    - key: .metadata.deletionTimestamp
      operator: DoesNotExist
    - key: .status.phase
      operator: In
      values: [Pending]
    - key: .status.initContainerStatuses.[].state.running.startedAt
      operator: Exists
  next:
    statusTemplate: |
      {{ $now := Now }}
      conditions:
      - type: Initialized
        status: "True"
        reason: ""
        lastProbeTime: null
        lastTransitionTime: {{ $now | Quote }}
      initContainerStatuses:
      {{ range .spec.initContainers }}
      - name: {{ .name | Quote }}
        image: {{ .image | Quote }}
        ready: true
        started: false
        restartCount: 0
        state:
          terminated:
            exitCode: 0
            reason: Completed
            startedAt: {{ $now | Quote }}
            finishedAt: {{ $now | Quote }}
      {{ end }}
      containerStatuses:
      {{ range .spec.containers }}
      - name: {{ .name | Quote }}
        image: {{ .image | Quote }}
        ready: false
        started: false
        restartCount: 0
        state:
          waiting:
            reason: ContainerCreating
      {{ end }}
`

const kwokStagePodReady = `apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: pod-ready
spec:
  resourceRef:
    apiGroup: v1
    kind: Pod
  selector:
    matchExpressions:
    - key: .metadata.deletionTimestamp
      operator: DoesNotExist
    - key: .status.phase
      operator: In
      values: [Pending]
    - key: '.status.conditions.[] | select( .type == "Initialized" ) | .status'
      operator: In
      values: ['True']
    - key: .status.containerStatuses.[].state.running.startedAt
      operator: DoesNotExist
  next:
    statusTemplate: |
      {{ $now := Now }}
      conditions:
      - type: Ready
        status: "True"
        reason: ""
        message: ""
        lastProbeTime: null
        lastTransitionTime: {{ $now | Quote }}
      - type: ContainersReady
        status: "True"
        reason: ""
        message: ""
        lastProbeTime: null
        lastTransitionTime: {{ $now | Quote }}
      containerStatuses:
      {{ range .spec.containers }}
      - name: {{ .name | Quote }}
        image: {{ .image | Quote }}
        ready: true
        started: true
        restartCount: 0
        state:
          running:
            startedAt: {{ $now | Quote }}
      {{ end }}
      phase: Running
      startTime: {{ $now | Quote }}
`

const kwokStagePodDelete = `apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: pod-delete
spec:
  resourceRef:
    apiGroup: v1
    kind: Pod
  selector:
    matchExpressions:
    - key: .metadata.deletionTimestamp
      operator: Exists
  next:
    finalizers:
      empty: true
    delete: true
`

// kwokForward maps ports of one pod to real listeners on this machine.
type kwokForward struct {
	Namespace, Pod string
	Ports          map[int]string // pod port -> 127.0.0.1:port
}

// KwokStages returns the Stage documents of a kwok config, one YAML document
// each, in a slice of the caller's own. The benchmarks' kwok runs on the same
// stages, so that their pods become Ready the way the bed's do.
func KwokStages() []string {
	return []string{
		kwokStageNodeInitialize, kwokStageNodeHeartbeat,
		kwokStagePodCreate, kwokStagePodInitRunning, kwokStagePodInitCompleted, kwokStagePodReady, kwokStagePodDelete,
	}
}

func kwokConfig(forwards []kwokForward) string {
	docs := KwokStages()
	for _, f := range forwards {
		var b strings.Builder
		fmt.Fprintf(&b, "apiVersion: kwok.x-k8s.io/v1alpha1\nkind: PortForward\nmetadata:\n  name: %s\n  namespace: %s\nspec:\n  forwards:\n", f.Pod, f.Namespace)
		for _, port := range sortedKeys(f.Ports) {
			host, p := splitHostPort(f.Ports[port])
			fmt.Fprintf(&b, "  - ports: [%d]\n    target:\n      address: %s\n      port: %s\n", port, host, p)
		}
		docs = append(docs, b.String())
	}
	return strings.Join(docs, "---\n")
}
