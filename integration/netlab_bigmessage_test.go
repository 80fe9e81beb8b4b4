package integration

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/glue-mqtt/glue-mqtt/integration/netlab"
)

// bigPayload is the largest MQTT payload glue-mqtt accepts by default: its MQTT packet limit is
// the mesh's 16 MiB message limit less 64 KiB of headroom for topic, envelope and mesh headers
// (bridge.DefaultMaxPacketSize); 1 KiB more is left for the MQTT header and topic.
const bigPayload = 16<<20 - 64<<10 - 1<<10

// bigLoss is the loss on the link between the two hosts, each direction.
const bigLoss = 0.05

// TestNetlabBigMessage: a (nearly) 16 MiB QoS 1 message crosses a link with 5% loss each way and
// arrives intact (sha256).
func TestNetlabBigMessage(t *testing.T) {
	bin := glueBinary(t)
	lab := netlab.New(t, netlab.Options{Hosts: 2})
	timing := lossyDiscovery
	ctx := timeout(t, 3*time.Minute)
	for _, k := range []netlab.Link{{From: 1, To: 2}, {From: 2, To: 1}} {
		if err := lab.SetLoss(k, bigLoss); err != nil {
			t.Fatal(err)
		}
	}
	if err := lab.StartAll(ctx, bin, envFor(lab, timing, nil)); err != nil {
		t.Fatal(err)
	}
	if _, err := lab.WaitMesh(timeout(t, 30*time.Second)); err != nil {
		t.Fatal(err)
	}
	body := make([]byte, bigPayload)
	if _, err := rand.Read(body); err != nil {
		t.Fatal(err)
	}
	want := sha256.Sum256(body)

	h1, h2 := lab.Host(1), lab.Host(2)
	got := make(chan []byte, 2)
	sub, err := h2.ConnectMQTT(ctx, h2.MQTTOptions("h2-big-sub"))
	if err != nil {
		t.Fatal(err)
	}
	if err := netlab.Subscribe(ctx, sub, "netlab/big", 1, func(_ mqtt.Client, m mqtt.Message) {
		select {
		case got <- m.Payload():
		default:
		}
	}); err != nil {
		t.Fatal(err)
	}
	pub, err := h1.ConnectMQTT(ctx, h1.MQTTOptions("h1-big-pub"))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := netlab.WaitToken(timeout(t, 2*time.Minute), pub.Publish("netlab/big", 1, false, body)); err != nil {
		t.Fatalf("publishing %d bytes: %v", len(body), err)
	}
	acked := time.Since(start)
	var received []byte
	select {
	case received = <-got:
	case <-timeout(t, 2*time.Minute).Done():
		t.Fatalf("the %d-byte message did not arrive within 2 minutes (PUBACK after %v)", len(body), acked)
	}
	lasted := time.Since(start)
	sum := sha256.Sum256(received)
	counters, err := lab.FaultCounters()
	if err != nil {
		t.Error(err)
	}
	t.Logf("%d bytes QoS 1 h1->h2 over %.0f%% loss each way: PUBACK after %v, delivered after %v (%.1f MiB/s), %d frames dropped by nft, sha256 %s",
		len(body), bigLoss*100, acked.Round(time.Millisecond), lasted.Round(time.Millisecond),
		float64(len(body))/(1<<20)/lasted.Seconds(), counters["loss"], hex.EncodeToString(sum[:8]))
	if len(received) != len(body) || sum != want {
		t.Fatalf("received %d bytes with sha256 %x, want %d bytes with %x", len(received), sum, len(body), want)
	}
	select {
	case <-got:
		t.Errorf("the big message was delivered twice")
	default:
	}
	t.Logf("summary: TestNetlabBigMessage bytes=%d loss=%.0f%% puback=%v delivered=%v throughput=%.1fMiB/s frames_dropped=%d sha256_ok=true",
		len(body), bigLoss*100, acked.Round(time.Millisecond), lasted.Round(time.Millisecond),
		float64(len(body))/(1<<20)/lasted.Seconds(), counters["loss"])
}
