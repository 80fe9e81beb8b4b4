package mesh

import (
	"net/netip"
	"testing"
	"time"

	"github.com/glue-mqtt/glue-mqtt/mesh/memnet"
	"github.com/glue-mqtt/glue-mqtt/mesh/wire"
)

// The sender counts down the time a message waited for the loop (back-pressure) before it goes
// on the wire, and drops it if its expiry passed meanwhile.
func TestExpiryCountsDownAtSender(t *testing.T) {
	e, err := New(memConfig(memnet.New(1), 1))
	must(t, err)
	c, err := newCore(e, discardConn{}, netip.MustParseAddrPort("10.0.0.1:5000"), []netip.AddrPort{netip.MustParseAddrPort(DefaultDiscoveryTarget)}, true)
	must(t, err)
	now := time.Unix(1700000000, 0)
	// A peer that wants everything.
	from := netip.MustParseAddrPort("10.0.0.2:6000")
	crypto, _ := wire.NewCrypto("test", nil)
	h := wire.Header{NetworkTag: wire.NetworkTag("test"), Sender: [16]byte{2}, SenderSession: 9, PacketNumber: 1}
	frames := (&wire.Beacon{ProtoVersion: 1, NetworkID: "test", Name: "peer", DataAddr: from, Interval: time.Second}).AppendTo(nil)
	in := wire.AppendInterest(nil, &wire.Interest{Version: 1, Filters: []string{"#"}})
	frames = (&wire.Data{Reliable: true, Seq: 1, MsgID: 1, FragCount: 1, Payload: in}).AppendTo(frames)
	c.handleDatagram(getPacket(crypto.Seal(nil, h, frames), from), now)
	p := c.peers[EndpointID{2}]
	if p == nil || !p.interestKnown {
		t.Fatal("peer not set up")
	}

	encode := func(expiry time.Duration) []byte {
		return wire.AppendPublish(nil, &wire.Publish{Topic: "t", Expiry: expiry, Payload: []byte("x")})
	}
	p.frames = p.frames[:0] // the beacon that greeted the new peer
	// Waited 2 s with a 1 s expiry: dropped.
	c.publish(&outMsg{topic: "t", data: encode(time.Second), bestEffort: true, expiry: time.Second, sent: now.Add(-2 * time.Second)}, now)
	if e.Stats().DropExpired != 1 || len(p.frames) != 0 {
		t.Fatalf("expired message not dropped: drops %d, frames %d", e.Stats().DropExpired, len(p.frames))
	}
	// Waited 500 ms with a 10 s expiry: goes out with 9.5 s left.
	p.frames = p.frames[:0]
	c.publish(&outMsg{topic: "t", data: encode(10 * time.Second), bestEffort: true, expiry: 10 * time.Second, sent: now.Add(-500 * time.Millisecond)}, now)
	var left time.Duration
	v := wire.Visitor{Data: func(d *wire.Data) error {
		pub, err := wire.ParsePublish(d.Payload)
		left = pub.Expiry
		return err
	}}
	must(t, wire.WalkFrames(p.frames, &v))
	if left != 9500*time.Millisecond {
		t.Fatalf("expiry on the wire %v, want 9.5s", left)
	}
}
