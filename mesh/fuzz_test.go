package mesh

import (
	"net/netip"
	"testing"
	"time"

	"github.com/glue-mqtt/glue-mqtt/mesh/memnet"
	"github.com/glue-mqtt/glue-mqtt/mesh/wire"
)

// discardConn is a socket that sends nowhere.
type discardConn struct{}

func (discardConn) ReadFromUDPAddrPort([]byte) (int, netip.AddrPort, error) { select {} }
func (discardConn) WriteToUDPAddrPort(b []byte, _ netip.AddrPort) (int, error) {
	return len(b), nil
}
func (discardConn) Close() error { return nil }

// FuzzHandleDatagram feeds arbitrary datagrams to an endpoint's protocol core, as a hostile or
// broken host on the segment could: no panic, and the state stays bounded (peer table, reassembly
// budget, delivery queue).
func FuzzHandleDatagram(f *testing.F) {
	e, err := New(memConfig(memnet.New(1), 1))
	if err != nil {
		f.Fatal(err)
	}
	self := netip.MustParseAddrPort("10.0.0.1:5000")
	c, err := newCore(e, discardConn{}, self, []netip.AddrPort{netip.MustParseAddrPort(DefaultDiscoveryTarget)}, true)
	if err != nil {
		f.Fatal(err)
	}
	from := netip.MustParseAddrPort("10.0.0.2:6000")
	crypto, _ := wire.NewCrypto("test", nil)
	h := wire.Header{NetworkTag: wire.NetworkTag("test"), Sender: [16]byte{2}, SenderSession: 9, PacketNumber: 1}
	beacon := wire.Beacon{ProtoVersion: 1, NetworkID: "test", Name: "peer", DataAddr: from, Interval: time.Second}
	interest := wire.AppendInterest(nil, &wire.Interest{Version: 1, Filters: []string{"#"}})
	pub := wire.AppendPublish(nil, &wire.Publish{Topic: "a/b", Type: "t", Payload: []byte("x")})
	frames := beacon.AppendTo(nil)
	frames = (&wire.Data{Reliable: true, Seq: 1, MsgID: 1, FragCount: 1, Payload: interest}).AppendTo(frames)
	frames = (&wire.Data{Reliable: true, Seq: 2, MsgID: 2, FragCount: 1, Payload: pub}).AppendTo(frames)
	frames = (&wire.Data{MsgID: 3, FragIndex: 1, FragCount: 3, Payload: []byte("frag")}).AppendTo(frames)
	frames = (&wire.Ack{Cumulative: 3, Ranges: []wire.AckRange{{Lo: 5, Hi: 7}}}).AppendTo(frames)
	f.Add(crypto.Seal(nil, h, frames))
	f.Add(crypto.Seal(nil, h, (&wire.Peers{Entries: []wire.PeerEntry{{ID: [16]byte{3}, Session: 1, Addr: from}}}).AppendTo(nil)))
	now := time.Unix(1700000000, 0)
	f.Fuzz(func(t *testing.T, b []byte) {
		now = now.Add(time.Millisecond)
		c.handleDatagram(getPacket(b, from), now)
		c.turn(now)
		for len(e.delivery) > 0 {
			<-e.delivery
		}
		if limit := e.cfg.ReassemblyBudget + int64(e.cfg.MaxMessageSize) + 64<<10; len(c.peers) > 1024 || c.held() > limit {
			t.Fatalf("unbounded state: %d peers, %d bytes in reassembly (limit %d)", len(c.peers), c.held(), limit)
		}
	})
}
