package cmd

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// Version is set at build time with -ldflags "-X .../pkg/cmd.Version=v1.2.3".
var Version = "dev"

// NewVersionCommand prints the plugin's version.
func NewVersionCommand(streams genericiooptions.IOStreams) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the plugin's version",
		Args:  cobra.NoArgs,
		Run: func(*cobra.Command, []string) {
			prom := "unknown"
			if bi, ok := debug.ReadBuildInfo(); ok {
				for _, d := range bi.Deps {
					if d.Path == "github.com/prometheus/prometheus" {
						prom = d.Version
					}
				}
			}
			fmt.Fprintf(streams.Out, "kubectl-globalquery %s (prometheus engine %s, %s, %s/%s)\n", Version, prom, runtime.Version(), runtime.GOOS, runtime.GOARCH)
		},
	}
}
