package integration

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/glue-mqtt/glue-mqtt/integration/netlab"
)

// bigPayload is the scenario's payload: exactly 16 MiB.
const bigPayload = 16 << 20

// bigMaxMessage is the mesh's maximum message size in this scenario. By default the mesh carries
// messages up to 16 MiB including topic, envelope and headers, and the MQTT side accepts packets
// up to that less 64 KiB of headroom (bridge.DefaultMaxPacketSize), so a payload of exactly
// 16 MiB needs a larger configured maximum: 16 MiB + 128 KiB, which makes the MQTT limit
// 16 MiB + 64 KiB.
const bigMaxMessage = 16<<20 + 128<<10

// bigLoss is the loss on the link between the two hosts, each direction.
const bigLoss = 0.05

// bigLateWindow is how long the scenario keeps listening after the delivery for a late
// duplicate (a retransmission delivered a second time).
const bigLateWindow = 3 * time.Second

// TestNetlabBigMessage: a QoS 1 message of exactly 16 MiB crosses a link with 5% loss each way
// and arrives intact (sha256), once.
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
	config := filepath.Join(t.TempDir(), "big.yaml")
	if err := os.WriteFile(config, fmt.Appendf(nil, "mesh:\n  max_message_size: %d\n", bigMaxMessage), 0o644); err != nil {
		t.Fatal(err)
	}
	env := envFor(lab, timing, nil)
	for _, h := range lab.Hosts {
		if _, err := h.Start(bin, env(h), "-config", config); err != nil {
			t.Fatal(err)
		}
	}
	for _, h := range lab.Hosts {
		if err := h.WaitReady(ctx); err != nil {
			t.Fatal(err)
		}
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
	if counters["loss"] == 0 {
		t.Errorf("nft dropped no frame: the message did not cross a lossy link")
	}
	select {
	case <-got:
		t.Errorf("the big message was delivered twice")
	case <-time.After(bigLateWindow):
	}
	t.Logf("summary: TestNetlabBigMessage bytes=%d max_message=%d loss=%.0f%% puback=%v delivered=%v throughput=%.1fMiB/s frames_dropped=%d sha256_ok=true late_duplicates_in_%v=0",
		len(body), bigMaxMessage, bigLoss*100, acked.Round(time.Millisecond), lasted.Round(time.Millisecond),
		float64(len(body))/(1<<20)/lasted.Seconds(), counters["loss"], bigLateWindow)
}
