package stores

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/globalquery/kubectl-globalquery/pkg/discovery"
)

// contexts are the kube contexts to read, in the order given; "" is the current one.
func contexts(cfg *Config) ([]string, error) {
	if len(cfg.Contexts) > 0 {
		return cfg.Contexts, nil
	}
	if !cfg.AllContexts {
		return []string{""}, nil
	}
	raw, err := cfg.Kube.ToRawKubeConfigLoader().RawConfig()
	if err != nil {
		return nil, explainKubeconfig(err)
	}
	var names []string
	for n := range raw.Contexts {
		names = append(names, n)
	}
	slices.Sort(names)
	if len(names) == 0 {
		return nil, errors.New("--all-contexts: the kubeconfig has no contexts")
	}
	return names, nil
}

// checkKubeconfig fails early, naming the files looked at, when no kubeconfig gives a server:
// client-go would otherwise fall back to localhost:8080 and fail with a puzzling "connection
// refused".
func checkKubeconfig(kube *genericclioptions.ConfigFlags) error {
	if kube.APIServer != nil && *kube.APIServer != "" {
		return nil
	}
	raw, err := kube.ToRawKubeConfigLoader().RawConfig()
	if err != nil {
		return explainKubeconfig(err)
	}
	if len(raw.Clusters) > 0 {
		return nil
	}
	if _, err := rest.InClusterConfig(); err == nil {
		return nil
	}
	where := "~/.kube/config"
	if kube.KubeConfig != nil && *kube.KubeConfig != "" {
		where = *kube.KubeConfig
	} else if env := os.Getenv(clientcmd.RecommendedConfigPathEnvVar); env != "" {
		where = "KUBECONFIG=" + env
	}
	return fmt.Errorf("no kubeconfig with a cluster found (looked at %s): set KUBECONFIG or --kubeconfig, "+
		"or query StoreAPI addresses directly with --endpoint HOST:PORT", where)
}

// explainKubeconfig words kubeconfig problems as kubectl does: which file, which context.
func explainKubeconfig(err error) error {
	if clientcmd.IsEmptyConfig(err) {
		return fmt.Errorf("no kubeconfig found: set KUBECONFIG, pass --kubeconfig, or use --endpoint HOST:PORT to query StoreAPI endpoints directly")
	}
	if errors.Is(err, os.ErrNotExist) || errors.Is(err, os.ErrPermission) {
		return fmt.Errorf("cannot read the kubeconfig: %w", err)
	}
	return fmt.Errorf("kubeconfig: %w", err)
}

// contextName is the kube context a discovery is for: name, or the kubeconfig's current one.
func contextName(kube *genericclioptions.ConfigFlags, name string) string {
	if name != "" {
		return name
	}
	if raw, err := kube.ToRawKubeConfigLoader().RawConfig(); err == nil {
		return raw.CurrentContext
	}
	return ""
}

// ExplainAPIServer words a failure to reach the API server at host in one line naming it.
func ExplainAPIServer(err error, host string) error {
	var lost *discovery.ConnectionLostError
	if errors.As(err, &lost) {
		return connectionLost{lost}
	}
	msg := err.Error()
	switch {
	case strings.Contains(msg, "getting credentials: exec:"):
		// The plugin's own message has gone to stderr already, as with kubectl.
		_, cause, _ := strings.Cut(msg, "getting credentials: exec: ")
		return fmt.Errorf("the kubeconfig's credential plugin failed (%s); its own message is above: log in again as it says, or use another context", cause)
	case strings.Contains(msg, "connection refused"), strings.Contains(msg, "no such host"), strings.Contains(msg, "i/o timeout"):
		return fmt.Errorf("cannot reach the API server at %s: %w", host, err)
	case strings.Contains(msg, "x509:") || strings.Contains(msg, "tls:"):
		return fmt.Errorf("TLS handshake with the API server at %s failed (wrong CA or server name in the kubeconfig?): %w", host, err)
	}
	return err
}
