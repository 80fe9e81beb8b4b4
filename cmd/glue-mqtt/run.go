package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/glue-mqtt/glue-mqtt/bridge"
	"github.com/glue-mqtt/glue-mqtt/mesh"
)

// shutdownBound bounds how long `glue-mqtt run` takes to stop after a signal.
const shutdownBound = 5 * time.Second

// runBroker is `glue-mqtt run`: the MQTT broker on localhost bridged onto the mesh, until ctx is
// cancelled (SIGINT, SIGTERM). It returns the exit code: 0 after a clean stop, 2 for bad
// configuration, 1 for a failure at run time.
func runBroker(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) int {
	cfg, err := loadConfig(args, getenv)
	if errors.Is(err, flag.ErrHelp) {
		newRunFlags().usage(stderr)
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "glue-mqtt: %v\n", err)
		return 2
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))
	cfg.Mesh.Logger = logger
	cfg.Bridge.Logger = logger

	ep, err := mesh.New(cfg.Mesh)
	if err != nil {
		logger.Error("glue-mqtt: mesh", "error", err)
		return 1
	}
	if err := ep.Start(); err != nil {
		logger.Error("glue-mqtt: start mesh", "error", err)
		return 1
	}
	srv, err := bridge.New(ep, cfg.Bridge)
	if err != nil {
		logger.Error("glue-mqtt: start MQTT broker", "error", err)
		stopWithin(logger, func() { _ = ep.Stop() })
		return 1
	}
	// Metrics before the broker serves, so that they are up once a client can connect.
	if cfg.MetricsListen != "" {
		metrics, err := startMetrics(cfg.MetricsListen, ep, srv, logger)
		if err != nil {
			logger.Error("glue-mqtt: start metrics", "error", err)
			_ = srv.Close()
			stopWithin(logger, func() { _ = ep.Stop() })
			return 1
		}
		defer metrics.Close()
	}
	if err := srv.Start(); err != nil {
		logger.Error("glue-mqtt: start MQTT broker", "error", err)
		_ = srv.Close()
		stopWithin(logger, func() { _ = ep.Stop() })
		return 1
	}
	logger.Info("glue-mqtt: running", "mqtt", srv.Addr(), "network", cfg.Mesh.NetworkID, "endpoint", ep.ID().String())

	<-ctx.Done()
	logger.Info("glue-mqtt: stopping")
	// The broker first, so no client publishes into a stopping mesh; then the mesh, which flushes
	// queued reliable data and tells the peers we leave.
	if !stopWithin(logger, func() {
		_ = srv.Close()
		_ = ep.Stop()
	}) {
		return 1
	}
	logger.Info("glue-mqtt: stopped")
	return 0
}

// stopWithin runs stop, giving up after shutdownBound; it reports whether stop finished.
func stopWithin(logger *slog.Logger, stop func()) bool {
	done := make(chan struct{})
	go func() {
		defer close(done)
		stop()
	}()
	select {
	case <-done:
		return true
	case <-time.After(shutdownBound):
		logger.Error("glue-mqtt: shutdown did not finish in time", "bound", shutdownBound)
		return false
	}
}
