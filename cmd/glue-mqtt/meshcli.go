package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/glue-mqtt/glue-mqtt/mesh"
)

// The mesh-native tools: `glue-mqtt pub` and `glue-mqtt sub` join the mesh directly as endpoints
// (the original glue's simple endpoint), with no MQTT broker involved. Their flags follow
// mosquitto_pub and mosquitto_sub where they apply; the mesh itself is configured by the GLUE_*
// environment variables.

// stringList is a repeatable flag (-t a -t b).
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// meshEndpoint starts an endpoint configured from the environment, logging to stderr.
func meshEndpoint(stderr io.Writer, debug bool) (*mesh.Endpoint, error) {
	cfg, err := mesh.ConfigFromEnv(mesh.DefaultConfig(), os.Getenv)
	if err != nil {
		return nil, err
	}
	level := slog.LevelWarn
	if debug {
		level = slog.LevelDebug
	}
	cfg.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	ep, err := mesh.New(cfg)
	if err != nil {
		return nil, err
	}
	if err := ep.Start(); err != nil {
		return nil, err
	}
	return ep, nil
}

// runPub publishes one message (or one per line of stdin with -l) to the mesh.
//
// Exit status: 0 when the message was handed to the mesh, also when no peer was found (a
// warning says so on stderr): as for an MQTT publish nobody subscribed to, there was simply no
// one to deliver to. 1 when publishing failed or was interrupted, 2 for usage and configuration
// errors.
func runPub(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("pub", flag.ContinueOnError)
	fs.SetOutput(stderr)
	topic := fs.String("t", "", "topic to publish on (required)")
	message := fs.String("m", "", "message payload")
	file := fs.String("f", "", "send the contents of this file as the message")
	lines := fs.Bool("l", false, "send each line of stdin as a message")
	null := fs.Bool("n", false, "send an empty message")
	qos := fs.Int("q", 0, "0: best effort (the default, as mosquitto_pub); 1 or 2: reliable")
	typ := fs.String("type", "text", "mesh message type")
	expiry := fs.Duration("expiry", 0, "message expiry (0: never)")
	wait := fs.Duration("wait", 0, "how long to wait for the peers already on the network (0: 2 discovery intervals + 1s)")
	debug := fs.Bool("d", false, "debug logging")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: glue-mqtt pub -t TOPIC (-m MESSAGE | -f FILE | -l | -n) [-q 0|1|2]")
		fs.PrintDefaults()
		fmt.Fprintln(stderr, "Exit status 0 also when no peer was found (with a warning), 1 when publishing failed, 2 for usage errors.")
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	sources := 0
	for _, set := range []bool{*message != "", *file != "", *lines, *null} {
		if set {
			sources++
		}
	}
	switch {
	case *topic == "":
		fmt.Fprintln(stderr, "glue-mqtt pub: -t TOPIC is required")
		return 2
	case sources != 1:
		fmt.Fprintln(stderr, "glue-mqtt pub: give exactly one of -m, -f, -l, -n")
		return 2
	case *qos < 0 || *qos > 2:
		fmt.Fprintln(stderr, "glue-mqtt pub: -q must be 0, 1 or 2")
		return 2
	}
	var payload []byte
	if *file != "" {
		b, err := os.ReadFile(*file)
		if err != nil {
			fmt.Fprintf(stderr, "glue-mqtt pub: %v\n", err)
			return 2
		}
		payload = b
	} else {
		payload = []byte(*message)
	}
	ep, err := meshEndpoint(stderr, *debug)
	if err != nil {
		fmt.Fprintf(stderr, "glue-mqtt pub: %v\n", err)
		return 2
	}
	defer ep.Stop()                                               // flushes reliable messages, bounded
	cfg, _ := mesh.ConfigFromEnv(mesh.DefaultConfig(), os.Getenv) // meshEndpoint checked it
	if *wait == 0 {
		*wait = 2*cfg.DiscoveryRate + time.Second
	}
	wctx, cancel := context.WithTimeout(ctx, *wait)
	err = ep.WaitDiscovery(wctx)
	cancel()
	if err != nil && ctx.Err() != nil {
		return 1
	}
	switch peers := ep.Peers(); {
	case len(peers) == 0:
		fmt.Fprintf(stderr, "glue-mqtt pub: warning: no peer found on mesh network %q within %v: nothing will be delivered (check GLUE_NETWORK_ID, GLUE_LISTEN_INTERFACE and the discovery address)\n",
			cfg.NetworkID, *wait)
	case err != nil:
		fmt.Fprintf(stderr, "glue-mqtt pub: warning: not every peer told its subscriptions within %v: some subscribers may miss the message\n", *wait)
	}
	send := func(p []byte) error {
		return ep.Send(ctx, mesh.Outgoing{Topic: *topic, Type: *typ, Payload: p, Expiry: *expiry, BestEffort: *qos == 0})
	}
	if *lines {
		sc := bufio.NewScanner(os.Stdin)
		sc.Buffer(make([]byte, 64<<10), 16<<20)
		for sc.Scan() {
			if err := send(sc.Bytes()); err != nil {
				fmt.Fprintf(stderr, "glue-mqtt pub: %v\n", err)
				return 1
			}
		}
		if err := sc.Err(); err != nil {
			fmt.Fprintf(stderr, "glue-mqtt pub: stdin: %v\n", err)
			return 1
		}
		return 0
	}
	if err := send(payload); err != nil {
		fmt.Fprintf(stderr, "glue-mqtt pub: %v\n", err)
		return 1
	}
	return 0
}

// runSub prints the messages of the mesh that match the filters, one payload a line.
func runSub(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sub", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var filters stringList
	fs.Var(&filters, "t", "topic filter, MQTT wildcards + and # (repeatable, at least one)")
	count := fs.Int("C", 0, "exit after this many messages (0: never)")
	timeout := fs.Int("W", 0, "exit after this many seconds (0: never)")
	verbose := fs.Bool("v", false, "print the topic before each payload")
	typ := fs.String("type", "", "only messages of this mesh type (default: any)")
	debug := fs.Bool("d", false, "debug logging")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: glue-mqtt sub -t FILTER [-t FILTER...] [-C COUNT] [-W SECONDS] [-v]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if len(filters) == 0 {
		fmt.Fprintln(stderr, "glue-mqtt sub: at least one -t FILTER is required")
		return 2
	}
	if *count < 0 || *timeout < 0 {
		fmt.Fprintln(stderr, "glue-mqtt sub: -C and -W must not be negative")
		return 2
	}
	if *timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(*timeout)*time.Second)
		defer cancel()
	}
	ep, err := meshEndpoint(stderr, *debug)
	if err != nil {
		fmt.Fprintf(stderr, "glue-mqtt sub: %v\n", err)
		return 2
	}
	defer ep.Stop()
	out := bufio.NewWriter(stdout)
	var mu sync.Mutex
	received := 0
	enough := make(chan struct{})
	handler := func(m mesh.Message) {
		mu.Lock()
		defer mu.Unlock()
		if *count > 0 && received >= *count {
			return
		}
		if *verbose {
			fmt.Fprintf(out, "%s ", m.Topic)
		}
		out.Write(m.Payload)
		out.WriteByte('\n')
		out.Flush()
		received++
		if *count > 0 && received == *count {
			close(enough)
		}
	}
	for _, f := range filters {
		if err := ep.Subscribe(f, *typ, handler); err != nil {
			fmt.Fprintf(stderr, "glue-mqtt sub: %v\n", err)
			return 2
		}
	}
	select {
	case <-enough:
		return 0
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.DeadlineExceeded) && *timeout > 0 {
			fmt.Fprintln(stderr, "glue-mqtt sub: timed out")
			return 27 // as mosquitto_sub -W
		}
		return 0
	}
}
