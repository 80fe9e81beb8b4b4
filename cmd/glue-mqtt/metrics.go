package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/glue-mqtt/glue-mqtt/bridge"
	"github.com/glue-mqtt/glue-mqtt/mesh"
)

// EnvMetricsListen is the Prometheus endpoint's address in the environment (off when empty).
const EnvMetricsListen = "GLUE_METRICS_LISTEN_ADDRESS"

// meshCollector exports the endpoint's counters and peer table at scrape time: the mesh keeps
// plain atomic counters and knows nothing of Prometheus.
type meshCollector struct {
	ep    *mesh.Endpoint
	descs map[string]*prometheus.Desc
}

var meshCounters = []struct {
	name, help string
	value      func(mesh.Stats) uint64
	labels     []string // constant label pairs: name, value
}{
	{"glue_mesh_datagrams_total", "UDP datagrams by direction.", func(s mesh.Stats) uint64 { return s.DatagramsIn }, []string{"direction", "in"}},
	{"glue_mesh_datagrams_total", "UDP datagrams by direction.", func(s mesh.Stats) uint64 { return s.DatagramsOut }, []string{"direction", "out"}},
	{"glue_mesh_bytes_total", "UDP bytes by direction.", func(s mesh.Stats) uint64 { return s.BytesIn }, []string{"direction", "in"}},
	{"glue_mesh_bytes_total", "UDP bytes by direction.", func(s mesh.Stats) uint64 { return s.BytesOut }, []string{"direction", "out"}},
	{"glue_mesh_messages_total", "Messages by direction (out: one per interested peer; in: delivered to handlers).", func(s mesh.Stats) uint64 { return s.MessagesIn }, []string{"direction", "in"}},
	{"glue_mesh_messages_total", "Messages by direction (out: one per interested peer; in: delivered to handlers).", func(s mesh.Stats) uint64 { return s.MessagesOut }, []string{"direction", "out"}},
	{"glue_mesh_retransmits_total", "Fragments sent again.", func(s mesh.Stats) uint64 { return s.Retransmits }, nil},
	{"glue_mesh_drops_total", "Datagrams, fragments or messages dropped, by reason.", func(s mesh.Stats) uint64 { return s.DropOwn }, []string{"reason", "own"}},
	{"glue_mesh_drops_total", "", func(s mesh.Stats) uint64 { return s.DropMalformed }, []string{"reason", "malformed"}},
	{"glue_mesh_drops_total", "", func(s mesh.Stats) uint64 { return s.DropVersion }, []string{"reason", "version"}},
	{"glue_mesh_drops_total", "", func(s mesh.Stats) uint64 { return s.DropNetwork }, []string{"reason", "network"}},
	{"glue_mesh_drops_total", "", func(s mesh.Stats) uint64 { return s.DropAuth }, []string{"reason", "auth"}},
	{"glue_mesh_drops_total", "", func(s mesh.Stats) uint64 { return s.DropReplay }, []string{"reason", "replay"}},
	{"glue_mesh_drops_total", "", func(s mesh.Stats) uint64 { return s.DropStale }, []string{"reason", "stale"}},
	{"glue_mesh_drops_total", "", func(s mesh.Stats) uint64 { return s.DropDuplicate }, []string{"reason", "duplicate"}},
	{"glue_mesh_drops_total", "", func(s mesh.Stats) uint64 { return s.DropExpired }, []string{"reason", "expired"}},
	{"glue_mesh_drops_total", "", func(s mesh.Stats) uint64 { return s.DropQueueFull }, []string{"reason", "queue_full"}},
	{"glue_mesh_drops_total", "", func(s mesh.Stats) uint64 { return s.DropReassembly }, []string{"reason", "reassembly"}},
	{"glue_mesh_drops_total", "", func(s mesh.Stats) uint64 { return s.DropNoRoute }, []string{"reason", "no_route"}},
	{"glue_mesh_peer_events_total", "Peer table events.", func(s mesh.Stats) uint64 { return s.PeersJoined }, []string{"event", "joined"}},
	{"glue_mesh_peer_events_total", "", func(s mesh.Stats) uint64 { return s.PeersLeft }, []string{"event", "left"}},
	{"glue_mesh_peer_events_total", "", func(s mesh.Stats) uint64 { return s.PeerRestarts }, []string{"event", "restarted"}},
	{"glue_mesh_peer_events_total", "", func(s mesh.Stats) uint64 { return s.PeerFailures }, []string{"event", "unresponsive"}},
	{"glue_mesh_socket_errors_total", "Socket errors by operation.", func(s mesh.Stats) uint64 { return s.ReadErrors }, []string{"op", "read"}},
	{"glue_mesh_socket_errors_total", "", func(s mesh.Stats) uint64 { return s.WriteErrors }, []string{"op", "write"}},
}

var (
	peersDesc   = prometheus.NewDesc("glue_mesh_peers", "Peers in the table.", nil, nil)
	unackedDesc = prometheus.NewDesc("glue_mesh_peer_unacked_bytes", "Bytes queued or in flight to a peer.", []string{"peer", "name"}, nil)
	srttDesc    = prometheus.NewDesc("glue_mesh_peer_srtt_seconds", "Smoothed round-trip time to a peer.", []string{"peer", "name"}, nil)
	// Only with the test-only GLUE_TEST_IMPAIR / GLUE_TEST_IMPAIR_FILE (mesh/faultnet).
	impairDesc = prometheus.NewDesc("glue_mesh_test_impairment_total", "Test impairment: outgoing datagrams damaged on purpose, by action.", []string{"action"}, nil)
)

func newMeshCollector(ep *mesh.Endpoint) *meshCollector {
	c := &meshCollector{ep: ep, descs: make(map[string]*prometheus.Desc)}
	help := map[string]string{}
	for _, m := range meshCounters {
		if m.help != "" {
			help[m.name] = m.help
		}
	}
	for _, m := range meshCounters {
		if _, ok := c.descs[m.name]; ok {
			continue
		}
		var labels []string
		if len(m.labels) > 0 {
			labels = []string{m.labels[0]}
		}
		c.descs[m.name] = prometheus.NewDesc(m.name, help[m.name], labels, nil)
	}
	return c
}

func (c *meshCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
	ch <- peersDesc
	ch <- unackedDesc
	ch <- srttDesc
	ch <- impairDesc
}

func (c *meshCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.ep.Stats()
	for _, m := range meshCounters {
		var labels []string
		if len(m.labels) > 1 {
			labels = []string{m.labels[1]}
		}
		ch <- prometheus.MustNewConstMetric(c.descs[m.name], prometheus.CounterValue, float64(m.value(st)), labels...)
	}
	peers := c.ep.Peers()
	ch <- prometheus.MustNewConstMetric(peersDesc, prometheus.GaugeValue, float64(len(peers)))
	for _, p := range peers {
		id := p.ID.String()
		ch <- prometheus.MustNewConstMetric(unackedDesc, prometheus.GaugeValue, float64(p.Unacked), id, p.Name)
		ch <- prometheus.MustNewConstMetric(srttDesc, prometheus.GaugeValue, p.SRTT.Seconds(), id, p.Name)
	}
	if im, ok := c.ep.TestImpairmentStats(); ok {
		for action, v := range map[string]uint64{"datagrams": im.Datagrams, "dropped": im.Dropped, "duplicated": im.Duplicated,
			"delayed": im.Delayed, "reordered": im.Reordered, "overflow": im.Overflow, "rule_loads": im.RuleLoads, "rule_errors": im.RuleErrors} {
			ch <- prometheus.MustNewConstMetric(impairDesc, prometheus.CounterValue, float64(v), action)
		}
	}
}

// bridgeCollector exports the bridge's counters (bridge.Stats) at scrape time.
type bridgeCollector struct{ srv *bridge.Server }

var (
	localOnlyDesc = prometheus.NewDesc("glue_bridge_publishes_local_only_total",
		"Local publishes the mesh did not carry, acknowledged and delivered on this host only (MQTT 3.1.1, QoS 0), by reason.", []string{"reason"}, nil)
	refusedDesc = prometheus.NewDesc("glue_bridge_publishes_refused_total",
		"MQTT 5 QoS 1/2 publishes the mesh did not carry, answered with a failure reason code, by reason.", []string{"reason"}, nil)
	tooLargeDesc = prometheus.NewDesc("glue_bridge_packets_too_large_total",
		"Clients disconnected for a packet over the maximum packet size.", nil, nil)
	meshDroppedDesc = prometheus.NewDesc("glue_bridge_mesh_messages_dropped_total",
		"Mesh messages not injected into the local broker, by reason.", []string{"reason"}, nil)
)

func (bridgeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- localOnlyDesc
	ch <- refusedDesc
	ch <- tooLargeDesc
	ch <- meshDroppedDesc
}

func (c bridgeCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.srv.Stats()
	byReason := func(d *prometheus.Desc, m map[string]uint64) {
		for reason, n := range m {
			ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(n), reason)
		}
	}
	byReason(localOnlyDesc, st.LocalOnly)
	byReason(refusedDesc, st.Refused)
	byReason(meshDroppedDesc, st.Dropped)
	ch <- prometheus.MustNewConstMetric(tooLargeDesc, prometheus.CounterValue, float64(st.PacketsTooLarge))
}

// metricsServer serves /metrics (Prometheus text format): the mesh's counters and peers, and the
// Go runtime's and the process's own (goroutines, memory), so an operator, or a soak test, can
// watch a gateway for leaks.
type metricsServer struct {
	srv  *http.Server
	ln   net.Listener
	done chan struct{}
}

func startMetrics(addr string, ep *mesh.Endpoint, br *bridge.Server, logger *slog.Logger) (*metricsServer, error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		newMeshCollector(ep), bridgeCollector{br})
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	m := &metricsServer{srv: &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}, ln: ln, done: make(chan struct{})}
	go func() {
		defer close(m.done)
		if err := m.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("glue-mqtt: metrics", "error", err)
		}
	}()
	logger.Info("glue-mqtt: metrics", "addr", "http://"+ln.Addr().String()+"/metrics")
	return m, nil
}

// Close stops the server and waits for it.
func (m *metricsServer) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = m.srv.Shutdown(ctx)
	<-m.done
}
