// Command glue-mqtt is the per-host process of glue-mqtt: an MQTT broker on localhost whose
// publishes are carried to the other hosts of the network over the glue mesh.
//
//	glue-mqtt [run] [flags]   the broker (default)
//	glue-mqtt pub ...         publish to the mesh directly, as a native endpoint
//	glue-mqtt sub ...         subscribe on the mesh directly
//	glue-mqtt version
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=..."; otherwise the module version.
var version = ""

func main() {
	os.Exit(dispatch(os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

// dispatch runs the subcommand named by args[0] ("run" when absent or a flag) and returns the
// exit code.
func dispatch(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cmd, rest := "run", args
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, rest = args[0], args[1:]
	}
	switch cmd {
	case "run":
		return runBroker(ctx, rest, getenv, stderr)
	case "pub":
		return runPub(ctx, rest, stdout, stderr)
	case "sub":
		return runSub(ctx, rest, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "glue-mqtt", buildVersion())
		return 0
	default:
		fmt.Fprintf(stderr, "glue-mqtt: unknown command %q: want run, pub, sub or version\n", cmd)
		return 2
	}
}

func buildVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}
