package mesh

import (
	"context"
	"net/netip"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/glue-mqtt/glue-mqtt/mesh/memnet"
	"github.com/glue-mqtt/glue-mqtt/mesh/wire"
)

// recordConn is a socket that records what is sent.
type recordConn struct {
	mu   sync.Mutex
	sent []sentDatagram
}

type sentDatagram struct {
	to netip.AddrPort
	b  []byte
}

func (*recordConn) ReadFromUDPAddrPort([]byte) (int, netip.AddrPort, error) { select {} }
func (c *recordConn) WriteToUDPAddrPort(b []byte, to netip.AddrPort) (int, error) {
	c.mu.Lock()
	c.sent = append(c.sent, sentDatagram{to, append([]byte(nil), b...)})
	c.mu.Unlock()
	return len(b), nil
}
func (*recordConn) Close() error { return nil }

// A rendezvous answers a WANT_PEERS beacon at the packet's source address, not at the data
// address the beacon claims: a forged beacon cannot make it send its peer list to a third party.
func TestRendezvousRepliesToSource(t *testing.T) {
	e, err := New(memConfig(memnet.New(1), 1))
	must(t, err)
	rec := &recordConn{}
	self := netip.MustParseAddrPort("10.0.0.1:27320")
	c, err := newCore(e, rec, self, []netip.AddrPort{self}, false)
	must(t, err)
	crypto, _ := wire.NewCrypto("test", nil)
	now := time.Unix(1700000000, 0)
	var pn uint64
	beacon := func(sender byte, from, claimed netip.AddrPort, flags uint8) {
		pn++
		h := wire.Header{NetworkTag: wire.NetworkTag("test"), Sender: [16]byte{sender}, SenderSession: 5, PacketNumber: pn}
		b := wire.Beacon{ProtoVersion: 1, NetworkID: "test", Name: "n", DataAddr: claimed, Interval: time.Second, Flags: flags}
		c.handleDatagram(getPacket(crypto.Seal(nil, h, b.AppendTo(nil)), from), now)
	}
	known := netip.MustParseAddrPort("10.0.0.2:5000")
	beacon(2, known, known, 0) // a peer the rendezvous knows
	requester := netip.MustParseAddrPort("10.0.0.5:7000")
	victim := netip.MustParseAddrPort("10.0.0.66:9")
	beacon(5, requester, victim, wire.BeaconWantPeers)

	peersTo := map[netip.AddrPort]int{}
	for _, d := range rec.sent {
		_, body, err := wire.ParseHeader(d.b)
		must(t, err)
		v := wire.Visitor{Peers: func(*wire.Peers) error { peersTo[d.to]++; return nil }}
		_ = wire.WalkFrames(body, &v)
	}
	if peersTo[requester] != 1 || peersTo[victim] != 0 {
		t.Fatalf("PEERS frames sent: %v; want one to the source %v and none to the claimed %v", peersTo, requester, victim)
	}
}

// SyncInterest with 4096 calls already waiting reports an error instead of pretending the peers
// have the interest.
func TestSyncInterestTooManyWaiters(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := memnet.New(81)
		cfg := memConfig(n, 1)
		cfg.GiveUpAfter = time.Hour // the ghost never confirms, and is never given up
		a := startEndpoint(t, cfg)
		must(t, a.Subscribe("x", "", func(Message) {}))
		stop := startGhost(t, n, a) // a live peer that never confirms our interest
		defer stop()
		waitFor(t, "ghost", 5*time.Second, func() bool { return peersOf(a) == 1 })
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for range maxWaiters {
			wg.Go(func() {
				if err := a.SyncInterest(ctx); err == nil {
					t.Error("SyncInterest succeeded without the ghost's confirmation")
				}
			})
		}
		waitFor(t, "waiters", 10*time.Second, func() bool { return waiters(a) == maxWaiters })
		short, cancelShort := context.WithTimeout(context.Background(), time.Second)
		defer cancelShort()
		if err := a.SyncInterest(short); err == nil || short.Err() != nil {
			t.Fatalf("SyncInterest beyond %d waiters: %v (want an error at once, not success or a timeout)", maxWaiters, err)
		}
		cancel()
		wg.Wait()
	})
}

func waiters(e *Endpoint) int {
	ch := make(chan int, 1)
	if e.do(context.Background(), func(c *core) { ch <- len(c.waiters) }) != nil {
		return -1
	}
	return <-ch
}
