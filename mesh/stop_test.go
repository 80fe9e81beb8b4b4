package mesh

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"

	"github.com/glue-mqtt/glue-mqtt/mesh/memnet"
)

// Stop is safe twice, releases every goroutine, and the API answers ErrStopped afterwards.
// synctest.Test itself fails if a goroutine of the bubble outlives it; goleak checks the rest.
func TestStopTwiceLeaksNothing(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	synctest.Test(t, stopTwice)
}

func stopTwice(t *testing.T) {
	n := memnet.New(21)
	a, err := New(memConfig(n, 1))
	must(t, err)
	b, err := New(memConfig(n, 2))
	must(t, err)
	must(t, a.Start())
	must(t, b.Start())
	var got collector
	must(t, b.Subscribe("x", "", got.handle))
	deadline := time.Now().Add(10 * time.Second)
	for (len(a.Peers()) != 1 || len(b.Peers()) != 1) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	must(t, b.SyncInterest(ctx))
	for range 100 {
		must(t, a.Publish("x", "", 0, []byte("queued before stop")))
	}
	// Stop flushes what is queued (bounded by StopTimeout) before it says goodbye.
	must(t, a.Stop())
	must(t, a.Stop())
	for got.len() != 100 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got.len() != 100 {
		t.Fatalf("%d of 100 messages flushed before stop", got.len())
	}
	must(t, b.Stop())
	must(t, b.Stop())
	if err := a.Publish("x", "", 0, nil); !errors.Is(err, ErrStopped) {
		t.Fatalf("publish after stop: %v", err)
	}
	if err := a.Start(); !errors.Is(err, ErrStopped) {
		t.Fatalf("start after stop: %v", err)
	}
}

func TestStopWithoutStart(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	e, err := New(memConfig(memnet.New(1), 1))
	must(t, err)
	must(t, e.Stop())
	must(t, e.Stop())
}

func TestConfigFromEnv(t *testing.T) {
	env := map[string]string{
		EnvNetworkID: "plant", EnvEndpointID: "6f1c1f4e-2d4b-4a52-9d8c-2e0e5d2a7a11", EnvEndpointName: "gw1",
		EnvListenAddress: "127.0.0.1:4000", EnvListenInterface: "lo", EnvDiscoveryTarget: "10.0.0.1:27400,10.0.0.2:27400",
		EnvDiscoveryListen: "0.0.0.0:27400", EnvDiscoveryRate: "250", EnvDiscoveryMultplier: "5",
		EnvNetworkKey: "0123456789abcdef",
	}
	cfg, err := ConfigFromEnv(DefaultConfig(), func(k string) string { return env[k] })
	must(t, err)
	if cfg.NetworkID != "plant" || cfg.EndpointName != "gw1" || cfg.DiscoveryRate != 250*time.Millisecond ||
		cfg.DiscoveryTimeoutMultiplier != 5 || cfg.ListenInterface != "lo" || cfg.NetworkKey != "0123456789abcdef" {
		t.Fatalf("got %+v", cfg)
	}
	targets, multicast, err := cfg.discoveryTargets()
	if err != nil || multicast || len(targets) != 2 {
		t.Fatalf("targets %v multicast %v err %v", targets, multicast, err)
	}
	for k, bad := range map[string]string{
		EnvDiscoveryRate: "fast", EnvDiscoveryMultplier: "0", EnvEndpointID: "not-a-uuid",
		EnvListenAddress: "nowhere", EnvDiscoveryTarget: "239.1.1.1:1,10.0.0.1:2", EnvNetworkKey: "short",
		EnvTestImpair: "loss=7", EnvDiscoveryListen: "nowhere:port", EnvNetworkID: strings.Repeat("n", 256),
		EnvEndpointName: strings.Repeat("e", 256), EnvListenInterface: "no such interface",
	} {
		_, err := ConfigFromEnv(DefaultConfig(), func(name string) string {
			if name == k {
				return bad
			}
			return ""
		})
		if err == nil {
			t.Errorf("%s=%q accepted", k, bad)
		} else if !strings.HasPrefix(err.Error(), "mesh: ") {
			t.Errorf("%s=%q: error %q lacks the package prefix", k, bad, err)
		}
	}
	// The longest valid values pass.
	_, err = ConfigFromEnv(DefaultConfig(), func(name string) string {
		return map[string]string{EnvNetworkID: strings.Repeat("n", 255), EnvEndpointName: strings.Repeat("e", 255),
			EnvListenInterface: "lo"}[name]
	})
	must(t, err)
}

// An interface that does not exist fails New, not only Start.
func TestNewChecksInterface(t *testing.T) {
	cfg := DefaultConfig()
	cfg.ListenInterface = "glue-nosuch0"
	if _, err := New(cfg); err == nil || !strings.HasPrefix(err.Error(), "mesh: ") {
		t.Fatalf("New with a missing interface: %v", err)
	}
	cfg.ListenInterface = "lo"
	e, err := New(cfg)
	must(t, err)
	must(t, e.Stop())
}

// Real UDP sockets on lo (multicast discovery, data sockets, batch readers): two endpoints
// exchange a message, stop, and leave no goroutine behind.
func TestStopLeaksNothingOnUDP(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	cfg := DefaultConfig()
	cfg.NetworkID = fmt.Sprintf("leak-%d", rand.Int())
	cfg.ListenInterface = "lo"
	cfg.DiscoveryTarget = fmt.Sprintf("239.192.137.1:%d", 20000+rand.IntN(20000))
	cfg.DiscoveryRate = 100 * time.Millisecond
	cfg.Logger = testLogger()
	a, err := New(cfg)
	must(t, err)
	b, err := New(cfg)
	must(t, err)
	must(t, a.Start())
	must(t, b.Start())
	got := make(chan Message, 1)
	must(t, b.Subscribe("leak", "", func(m Message) { got <- m }))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for len(a.Peers()) != 1 || len(b.Peers()) != 1 {
		if ctx.Err() != nil {
			t.Fatal("no discovery on lo in 10s")
		}
		time.Sleep(10 * time.Millisecond) // polling a real network
	}
	must(t, b.SyncInterest(ctx))
	must(t, a.Publish("leak", "", 0, []byte("x")))
	select {
	case <-got:
	case <-ctx.Done():
		t.Fatal("message not delivered")
	}
	must(t, a.Stop())
	must(t, b.Stop())
	must(t, b.Stop())
}

// countingHandler counts log records by message.
type countingHandler struct {
	mu sync.Mutex
	n  map[string]int
}

func (h *countingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *countingHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	h.n[r.Message]++
	h.mu.Unlock()
	return nil
}
func (h *countingHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *countingHandler) WithGroup(string) slog.Handler      { return h }

func (h *countingHandler) count(prefix string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	total := 0
	for m, n := range h.n {
		if strings.HasPrefix(m, prefix) {
			total += n
		}
	}
	return total
}

// Without a network key the endpoint warns exactly once over a run with peers, traffic and many
// beacons; with a key it does not warn.
func TestNoKeyWarnsOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := memnet.New(71)
		logs := map[int]*countingHandler{}
		var eps []*Endpoint
		for i := 1; i <= 3; i++ {
			cfg := memConfig(n, i)
			if i == 3 {
				cfg.NetworkID = "keyed" // a network of its own
				cfg.NetworkKey = testKey
			}
			logs[i] = &countingHandler{n: map[string]int{}}
			cfg.Logger = slog.New(logs[i])
			eps = append(eps, startEndpoint(t, cfg))
		}
		a, b := eps[0], eps[1]
		var got collector
		must(t, b.Subscribe("w", "", got.handle))
		waitFor(t, "discovery", 5*time.Second, func() bool { return peersOf(a) == 1 && peersOf(b) == 1 })
		syncInterest(t, b)
		for range 10 {
			must(t, a.Publish("w", "", 0, []byte("x")))
		}
		waitFor(t, "ten beacon intervals", time.Minute, func() bool { return a.Stats().DropOwn >= 10 && got.len() == 10 })
		for _, e := range eps {
			must(t, e.Stop())
		}
		for i, h := range logs {
			want := 1
			if i == 3 {
				want = 0
			}
			if c := h.count("mesh: no network key"); c != want {
				t.Errorf("endpoint %d logged the missing-key warning %d times, want %d", i, c, want)
			}
		}
	})
}

// Stop flushes every message whose Publish returned before Stop was called, even those still
// waiting in the publish channel when the loop sees the stop request. (The loop is held while
// 200 messages queue up and more requests than one turn handles wait, so the stop request
// competes with queued publishes; the select picks at random, so the scenario runs 10 times.)
func TestStopFlushesQueuedPublishes(t *testing.T) {
	for i := range 10 {
		synctest.Test(t, func(t *testing.T) {
			n := memnet.New(int64(90 + i))
			cfg := memConfig(n, 1)
			a, err := New(cfg)
			must(t, err)
			must(t, a.Start())
			b := startEndpoint(t, memConfig(n, 2))
			var got collector
			must(t, b.Subscribe("q", "", got.handle))
			waitFor(t, "discovery", 5*time.Second, func() bool { return peersOf(a) == 1 && peersOf(b) == 1 })
			syncInterest(t, b)
			release := make(chan struct{})
			held := make(chan struct{})
			must(t, a.do(context.Background(), func(*core) { close(held); <-release }))
			<-held
			const count = 200
			for range count {
				must(t, a.Publish("q", "", 0, []byte("queued")))
			}
			for range cap(a.ctl) - 1 {
				must(t, a.do(context.Background(), func(*core) {}))
			}
			stopped := make(chan struct{})
			go func() { a.Stop(); close(stopped) }()
			<-a.stopReq // Stop has asked
			close(release)
			<-stopped
			waitFor(t, "queued messages", 5*time.Second, func() bool { return got.len() == count })
		})
	}
}
