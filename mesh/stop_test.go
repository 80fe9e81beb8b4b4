package mesh

import (
	"context"
	"errors"
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
		EnvTestImpair: "loss=7",
	} {
		_, err := ConfigFromEnv(DefaultConfig(), func(name string) string {
			if name == k {
				return bad
			}
			return ""
		})
		if err == nil {
			t.Errorf("%s=%q accepted", k, bad)
		}
	}
}
