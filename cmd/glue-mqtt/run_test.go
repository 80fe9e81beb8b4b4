package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	pahov3 "github.com/eclipse/paho.mqtt.golang"

	"github.com/glue-mqtt/glue-mqtt/mesh"
)

// lockedBuffer is a bytes.Buffer safe for the logger and the test to share.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}
func (l *lockedBuffer) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

func freePort(t *testing.T, network string) int {
	t.Helper()
	if network == "udp" {
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.LocalAddr().(*net.UDPAddr).Port
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// `glue-mqtt run` serves MQTT on the configured address and stops cleanly, exit code 0, when its
// context ends (as on SIGINT/SIGTERM).
func TestRunServesAndStops(t *testing.T) {
	mqttAddr := "127.0.0.1:" + strconv.Itoa(freePort(t, "tcp"))
	e := env(map[string]string{
		mesh.EnvListenInterface: "lo",
		mesh.EnvDiscoveryTarget: "239.192.137.1:" + strconv.Itoa(freePort(t, "udp")),
		mesh.EnvNetworkID:       "run-test-" + strconv.FormatInt(time.Now().UnixNano(), 36),
		mesh.EnvDiscoveryRate:   "100",
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var logs lockedBuffer
	exit := make(chan int, 1)
	metricsAddr := "127.0.0.1:" + strconv.Itoa(freePort(t, "tcp"))
	go func() {
		exit <- runBroker(ctx, []string{"-mqtt", mqttAddr, "-log-level", "debug", "-metrics", metricsAddr}, e, &logs)
	}()

	opts := pahov3.NewClientOptions().AddBroker("tcp://" + mqttAddr).SetClientID("run-test").
		SetAutoReconnect(false).SetConnectTimeout(time.Second)
	c := pahov3.NewClient(opts)
	deadline := time.Now().Add(10 * time.Second)
	for {
		tok := c.Connect()
		if tok.WaitTimeout(2*time.Second) && tok.Error() == nil {
			break
		}
		select {
		case code := <-exit:
			t.Fatalf("run exited with %d before serving; logs:\n%s", code, logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("broker not reachable on %s; logs:\n%s", mqttAddr, logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if tok := c.Publish("run/test", 1, false, "x"); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("publish: %v", tok.Error())
	}
	c.Disconnect(100)

	// Prometheus metrics: the mesh's counters and the runtime's goroutines.
	resp, err := http.Get("http://" + metricsAddr + "/metrics")
	if err != nil {
		t.Fatalf("metrics: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"go_goroutines ", "glue_mesh_peers 0", `glue_mesh_datagrams_total{direction="out"}`, `glue_mesh_drops_total{reason="auth"} 0`,
		`glue_bridge_publishes_local_only_total{reason="mesh_send"} 0`, `glue_bridge_publishes_refused_total{reason="envelope"} 0`,
		`glue_bridge_mesh_messages_dropped_total{reason="property"} 0`, "glue_bridge_packets_too_large_total 0"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %q", want)
		}
	}

	cancel()
	select {
	case code := <-exit:
		if code != 0 {
			t.Fatalf("exit code %d, want 0; logs:\n%s", code, logs.String())
		}
	case <-time.After(shutdownBound + 2*time.Second):
		t.Fatalf("run did not stop within the bound; logs:\n%s", logs.String())
	}
}
