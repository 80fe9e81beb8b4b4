package loopback

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/glue-mqtt/glue-mqtt/mesh"
)

// TestNativeEndpointAndMQTT: a Go program that joins the mesh directly (package mesh) receives
// what MQTT clients publish on a glue-mqtt instance, raw payload and all, and MQTT clients
// receive what it publishes.
func TestNativeEndpointAndMQTT(t *testing.T) {
	n := newNetwork(t)
	inst := n.start("A")
	n.waitMesh()

	cfg := mesh.DefaultConfig()
	cfg.NetworkID = n.id
	cfg.ListenInterface = "lo"
	cfg.DiscoveryTarget = n.discovery
	cfg.DiscoveryRate = discoveryRateMS * time.Millisecond
	cfg.EndpointName = "native"
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	ep, err := mesh.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := ep.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ep.Stop() })

	topic := uniqueTopic("native")
	var mu sync.Mutex
	var got []mesh.Message
	if err := ep.Subscribe(topic+"/#", "", func(m mesh.Message) {
		mu.Lock()
		got = append(got, m)
		mu.Unlock()
	}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// The instance must know the native endpoint and have its interest before the MQTT publish.
	for len(ep.Peers()) != 1 || !ep.Peers()[0].Interest {
		if ctx.Err() != nil {
			t.Fatal("the native endpoint did not meet the glue-mqtt instance")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := ep.SyncInterest(ctx); err != nil {
		t.Fatal(err)
	}

	// MQTT -> native.
	pub := connectV3(t, inst, "native-pub")
	pub.publish(t, topic+"/from-mqtt", 1, "hello native")
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n > 0 {
			break
		}
		if ctx.Err() != nil {
			t.Fatal("the native endpoint received nothing from MQTT")
		}
		time.Sleep(10 * time.Millisecond)
	}
	mu.Lock()
	m := got[0]
	mu.Unlock()
	if m.Topic != topic+"/from-mqtt" || string(m.Payload) != "hello native" || !m.Reliable || m.Type != "mqtt" {
		t.Fatalf("native endpoint got %+v", m)
	}

	// native -> MQTT.
	sub := connectV5(t, inst, "native-sub")
	sub.subscribe(t, topic+"/from-go", 1)
	if err := ep.Publish(topic+"/from-go", "text", 0, []byte("hello mqtt")); err != nil {
		t.Fatal(err)
	}
	msgs := sub.inbox().waitUntil(t, 10*time.Second, "native publish", func(d []delivery) bool { return len(d) >= 1 })
	if msgs[0].Payload != "hello mqtt" || msgs[0].QoS != 1 {
		t.Fatalf("MQTT client got %+v", msgs[0])
	}
	t.Logf("native endpoint <-> MQTT across processes: %s", fmt.Sprint(len(got), " in, 1 out"))
}
