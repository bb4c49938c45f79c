package main

import (
	_ "github.com/olekukonko/tablewriter"
	_ "github.com/prometheus/prometheus/promql"
	_ "github.com/spf13/cobra"
	_ "google.golang.org/grpc"
	_ "k8s.io/cli-runtime/pkg/genericclioptions"
	_ "k8s.io/client-go/tools/portforward"
)

func main() {}
