package loopback

import (
	"fmt"
	"testing"
)

// TestMQTT5ConnackAnnouncesMaximumPacketSize: an instance started with -max-packet-size N refuses
// larger packets, so its CONNACK to an MQTT 5 client must carry Maximum Packet Size N (MQTT 5
// 3.2.2.3.6: "If the Maximum Packet Size is not present, there is no limit on the packet size
// imposed"); clients such as paho.golang rely on it to refuse an oversized publish themselves
// instead of being disconnected without a reason.
//
// mochi v2.7.9's SendConnack (server.go, about line 607) never sets Properties.MaximumPacketSize
// from Capabilities.MaximumPacketSize (and the bridge sets mochi's own limit to a higher hard
// ceiling anyway), so the bridge adds the configured limit in OnPacketEncode; this test failed
// before it did.
func TestMQTT5ConnackAnnouncesMaximumPacketSize(t *testing.T) {
	n := newNetwork(t)
	a := n.start("A", "-max-packet-size", fmt.Sprint(maxPacketSize))
	conn := dialRaw(t, a)
	conn.write(t, connectPacket(5, "connack-limit"))
	typ, body := conn.readPacket(t)
	if typ != 0x20 || len(body) < 2 || body[1] != 0 {
		t.Fatalf("want a successful CONNACK, got type 0x%02x %x", typ, body)
	}
	got, ok := connackMaximumPacketSize(body)
	if !ok || got != maxPacketSize {
		t.Errorf("CONNACK % x: Maximum Packet Size %d (present: %v), want %d", body, got, ok, maxPacketSize)
	}
}
