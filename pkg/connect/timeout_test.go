package connect

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/globalquery/kubectl-globalquery/pkg/failure"
)

// A store that accepts the connection and then says nothing is named for --connect-timeout,
// not for --timeout or a TLS problem, whatever the handshake was doing when the time ran out.
func TestConnectTimeoutNamesItsFlag(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close() // held open, silent
		}
	}()
	set := Connect(context.Background(), nil, []string{ln.Addr().String()}, Options{InfoTimeout: 300 * time.Millisecond})
	defer set.Close()
	if len(set.Failures) != 1 {
		t.Fatalf("%d failures, want 1", len(set.Failures))
	}
	msg := failure.Word(set.Failures[0], failure.Words{failure.ConnectTimeout: "--connect-timeout", failure.QueryTimeout: "--timeout"})
	if !strings.Contains(msg, "--connect-timeout") || strings.Contains(msg, "--timeout)") || strings.Contains(msg, "TLS") || strings.Contains(msg, "rpc error") {
		t.Fatalf("message %q, want one naming --connect-timeout alone", msg)
	}
}
