package bridge

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	pahov3 "github.com/eclipse/paho.mqtt.golang"
)

const waitFor = 10 * time.Second

// testLogger discards logs unless the test is verbose.
func testLogger(t *testing.T) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(&testWriter{t: t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

type testWriter struct{ t *testing.T }

func (w *testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(bytes.TrimSpace(p)))
	return len(p), nil
}

// logCapture records log lines (and passes them to the test log when verbose).
type logCapture struct {
	mu    sync.Mutex
	lines []string
	t     *testing.T
}

func (c *logCapture) Write(p []byte) (int, error) {
	line := string(bytes.TrimSpace(p))
	c.mu.Lock()
	c.lines = append(c.lines, line)
	c.mu.Unlock()
	if testing.Verbose() {
		c.t.Log(line)
	}
	return len(p), nil
}

// count returns how many lines contain every one of parts.
func (c *logCapture) count(parts ...string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
next:
	for _, l := range c.lines {
		for _, p := range parts {
			if !strings.Contains(l, p) {
				continue next
			}
		}
		n++
	}
	return n
}

// capturingLogger returns a debug-level logger whose lines the test can search.
func capturingLogger(t *testing.T) (*slog.Logger, *logCapture) {
	c := &logCapture{t: t}
	return slog.New(slog.NewTextHandler(c, &slog.HandlerOptions{Level: slog.LevelDebug})), c
}

// host is one glue-mqtt host of a test: a bridged broker on a free loopback port and its fake mesh.
type host struct {
	srv  *Server
	mesh *fakeMesh
}

func startHost(t *testing.T, n *fakeNet, idByte byte, cfg Config) host {
	t.Helper()
	m := n.join(idByte)
	cfg.ListenAddress = "127.0.0.1:0"
	if cfg.Logger == nil {
		cfg.Logger = testLogger(t)
	}
	s, err := New(m, cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := s.Start(); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return host{srv: s, mesh: m}
}

// twoHosts starts hosts A and B joined by one fake network.
func twoHosts(t *testing.T, cfg Config) (a, b host, n *fakeNet) {
	n = &fakeNet{}
	return startHost(t, n, 1, cfg), startHost(t, n, 2, cfg), n
}

// received collects messages from client callbacks.
type received struct {
	mu   sync.Mutex
	msgs []msg
	more chan struct{}
}

type msg struct {
	topic   string
	payload string
	qos     byte
	retain  bool
	props   *paho.PublishProperties
}

func newReceived() *received { return &received{more: make(chan struct{}, 1)} }

func (r *received) add(m msg) {
	r.mu.Lock()
	r.msgs = append(r.msgs, m)
	r.mu.Unlock()
	select {
	case r.more <- struct{}{}:
	default:
	}
}

func (r *received) snapshot() []msg {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]msg(nil), r.msgs...)
}

// waitTopic waits until a message on topic has arrived and returns it.
func (r *received) waitTopic(t *testing.T, topic string) msg {
	t.Helper()
	deadline := time.After(waitFor)
	for {
		for _, m := range r.snapshot() {
			if m.topic == topic {
				return m
			}
		}
		select {
		case <-r.more:
		case <-deadline:
			t.Fatalf("no message on %q within %v; got %+v", topic, waitFor, r.snapshot())
		}
	}
}

// count returns how many messages arrived on topic.
func (r *received) count(topic string) int {
	n := 0
	for _, m := range r.snapshot() {
		if m.topic == topic {
			n++
		}
	}
	return n
}

// v3Client connects an MQTT 3.1.1 client (paho.mqtt.golang) to addr.
func v3Client(t *testing.T, addr, id string, clean bool) pahov3.Client {
	t.Helper()
	opts := pahov3.NewClientOptions().AddBroker("tcp://" + addr).SetClientID(id).
		SetCleanSession(clean).SetAutoReconnect(false).SetConnectRetry(false).SetOrderMatters(false)
	c := pahov3.NewClient(opts)
	tok := c.Connect()
	if !tok.WaitTimeout(waitFor) || tok.Error() != nil {
		t.Fatalf("v3 connect %s: %v", id, tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	return c
}

func v3Subscribe(t *testing.T, c pahov3.Client, filter string, qos byte, r *received) {
	t.Helper()
	tok := c.Subscribe(filter, qos, func(_ pahov3.Client, m pahov3.Message) {
		r.add(msg{topic: m.Topic(), payload: string(m.Payload()), qos: m.Qos(), retain: m.Retained()})
	})
	if !tok.WaitTimeout(waitFor) || tok.Error() != nil {
		t.Fatalf("v3 subscribe %s: %v", filter, tok.Error())
	}
}

func v3Publish(t *testing.T, c pahov3.Client, topic string, qos byte, payload string) {
	t.Helper()
	tok := c.Publish(topic, qos, false, payload)
	if !tok.WaitTimeout(waitFor) || tok.Error() != nil {
		t.Fatalf("v3 publish %s: %v", topic, tok.Error())
	}
}

// sniffConn records every byte the client reads, to check packets on the wire. It embeds the
// *net.TCPConn itself, not a net.Conn: paho.golang writes each packet as net.Buffers, which is a
// single writev only on a connection net recognises; through a plain wrapper it becomes several
// writes, and the pinger's first PINGREQ (sent at once after CONNACK) can land inside a SUBSCRIBE,
// which the server then rightly refuses as malformed.
type sniffConn struct {
	*net.TCPConn
	mu  sync.Mutex
	buf bytes.Buffer
}

func (c *sniffConn) Read(p []byte) (int, error) {
	n, err := c.TCPConn.Read(p)
	c.mu.Lock()
	c.buf.Write(p[:n])
	c.mu.Unlock()
	return n, err
}

func (c *sniffConn) bytes() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]byte(nil), c.buf.Bytes()...)
}

// v5Client connects an MQTT 5 client (paho.golang) to addr; r (may be nil) receives its messages.
func v5Client(t *testing.T, addr, id string, r *received) (*paho.Client, *sniffConn) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, waitFor)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	sc := &sniffConn{TCPConn: conn.(*net.TCPConn)}
	cfg := paho.ClientConfig{ClientID: id, Conn: sc}
	if r != nil {
		cfg.OnPublishReceived = []func(paho.PublishReceived) (bool, error){func(pr paho.PublishReceived) (bool, error) {
			p := pr.Packet
			r.add(msg{topic: p.Topic, payload: string(p.Payload), qos: p.QoS, retain: p.Retain, props: p.Properties})
			return true, nil
		}}
	}
	c := paho.NewClient(cfg)
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	ca, err := c.Connect(ctx, &paho.Connect{ClientID: id, CleanStart: true, KeepAlive: 30})
	if err != nil {
		conn.Close()
		t.Fatalf("v5 connect %s: %v (connack %+v)", id, err, ca)
	}
	t.Cleanup(func() {
		_ = c.Disconnect(&paho.Disconnect{ReasonCode: 0})
		<-c.Done()
	})
	return c, sc
}

func v5Subscribe(t *testing.T, c *paho.Client, filter string, qos byte) *paho.Suback {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	sa, err := c.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: filter, QoS: qos}}})
	if err != nil {
		t.Fatalf("v5 subscribe %s: %v", filter, err)
	}
	return sa
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func dialTCP(addr string) (net.Conn, error) { return net.DialTimeout("tcp", addr, waitFor) }

func v3Options(addr, id string) *pahov3.ClientOptions {
	return pahov3.NewClientOptions().AddBroker("tcp://" + addr).SetClientID(id).
		SetAutoReconnect(false).SetConnectRetry(false).SetConnectTimeout(waitFor)
}

func newV3(o *pahov3.ClientOptions) pahov3.Client { return pahov3.NewClient(o) }
