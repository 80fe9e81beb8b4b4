package mesh

import (
	"context"
	"crypto/rand"
	"net/netip"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/glue-mqtt/glue-mqtt/mesh/memnet"
	"github.com/glue-mqtt/glue-mqtt/mesh/wire"
)

const testKey = "0123456789abcdef-network-key"

// TestNetworkKeyDropsForgedReplayedAndGarbage: with a network key, a datagram sealed with a wrong
// key, a replayed datagram, and truncated or random bytes are dropped and counted, and the
// endpoint keeps working.
func TestNetworkKeyDropsForgedReplayedAndGarbage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := memnet.New(11)
		cfgA, cfgB := memConfig(n, 1), memConfig(n, 2)
		cfgA.NetworkKey, cfgB.NetworkKey = testKey, testKey
		a := startEndpoint(t, cfgA)
		// The attacker listens to the discovery group to capture a genuine datagram.
		group := netip.MustParseAddrPort(DefaultDiscoveryTarget)
		spy, err := n.Listen(netip.AddrPortFrom(addrOf(9), group.Port()))
		must(t, err)
		n.JoinGroup(group, spy)
		b := startEndpoint(t, cfgB)
		var got collector
		must(t, a.Subscribe("secure/#", "", got.handle))
		waitFor(t, "discovery", 5*time.Second, func() bool { return peersOf(a) == 1 && peersOf(b) == 1 })

		var captured []byte
		buf := make([]byte, 2048)
		for captured == nil {
			k, from, err := spy.ReadFromUDPAddrPort(buf)
			must(t, err)
			if from.Addr() == addrOf(2) {
				captured = append([]byte(nil), buf[:k]...)
			}
		}
		aData := a.dataAddr()
		before := a.Stats()

		// 1. Wrong key.
		wrong, err := wire.NewCrypto("test", []byte("another-key-of-16-bytes"))
		must(t, err)
		h := wire.Header{NetworkTag: wire.NetworkTag("test"), Sender: [16]byte{9}, SenderSession: 99, PacketNumber: 1}
		b0 := wire.Beacon{ProtoVersion: 1, NetworkID: "test", Name: "mallory", DataAddr: netip.AddrPortFrom(addrOf(9), 1), Interval: time.Second}
		_, err = spy.WriteToUDPAddrPort(wrong.Seal(nil, h, b0.AppendTo(nil)), aData)
		must(t, err)
		// 2. Replay of a genuine datagram.
		_, err = spy.WriteToUDPAddrPort(captured, aData)
		must(t, err)
		// 3. Truncated and random datagrams.
		_, err = spy.WriteToUDPAddrPort(captured[:len(captured)-5], aData)
		must(t, err)
		_, err = spy.WriteToUDPAddrPort(captured[:10], aData)
		must(t, err)
		junk := make([]byte, 300)
		rand.Read(junk)
		junk[0] = 'g' // not the magic byte: random bytes are malformed, whatever follows
		_, err = spy.WriteToUDPAddrPort(junk, aData)
		must(t, err)
		// 4. Unsealed datagram on a keyed network.
		plain, err := wire.NewCrypto("test", nil)
		must(t, err)
		_, err = spy.WriteToUDPAddrPort(plain.Seal(nil, h, b0.AppendTo(nil)), aData)
		must(t, err)

		// Each one counted once, under its reason: wrong key, truncated tag and unsealed fail
		// authentication; the replay is a replay; 10 bytes (shorter than a header) and random
		// bytes are malformed.
		want := Stats{DropAuth: 3, DropReplay: 1, DropMalformed: 2}
		drops := func() Stats {
			s := a.Stats()
			return Stats{DropAuth: s.DropAuth - before.DropAuth, DropReplay: s.DropReplay - before.DropReplay,
				DropMalformed: s.DropMalformed - before.DropMalformed, DropVersion: s.DropVersion - before.DropVersion,
				DropNetwork: s.DropNetwork - before.DropNetwork, DropStale: s.DropStale - before.DropStale}
		}
		waitFor(t, "drops counted", 5*time.Second, func() bool {
			d := drops()
			return d.DropAuth+d.DropReplay+d.DropMalformed+d.DropVersion+d.DropNetwork+d.DropStale >= 6
		})
		synctest.Wait()
		if d := drops(); d != want {
			t.Fatalf("drops %+v, want %+v", d, want)
		}
		if peersOf(a) != 1 {
			t.Fatalf("the forged beacon added a peer: %+v", a.Peers())
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		must(t, a.SyncInterest(ctx))
		must(t, b.Publish("secure/ok", "", 0, []byte("still works")))
		waitFor(t, "delivery after the attack", 5*time.Second, func() bool { return got.len() == 1 })
	})
}

// TestUnresponsivePeerBoundedAndReported: a peer that announces interest but never
// acknowledges: the sender's buffer stays bounded, the failure is reported, and publishers are
// not blocked for ever.
func TestUnresponsivePeerBoundedAndReported(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := memnet.New(12)
		cfg := memConfig(n, 1)
		cfg.SendBuffer = 256 << 10
		cfg.GiveUpAfter = 3 * time.Second
		a := startEndpoint(t, cfg)
		stop := startGhost(t, n, a)
		defer stop()
		waitFor(t, "ghost interest", 5*time.Second, func() bool {
			ps := a.Peers()
			return len(ps) == 1 && ps[0].Interest
		})
		maxHeld := 0 // bytes held for the ghost: send buffer and backlog
		payload := make([]byte, 1000)
		deadline := time.Now().Add(20 * time.Second)
		sent := 0
		for time.Now().Before(deadline) && a.Stats().PeerFailures == 0 {
			ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			if a.Send(ctx, Outgoing{Topic: "x", Payload: payload}) == nil {
				sent++
			}
			cancel()
			if ps := a.Peers(); len(ps) == 1 && ps[0].Unacked+ps[0].Backlog > maxHeld {
				maxHeld = ps[0].Unacked + ps[0].Backlog
			}
		}
		if a.Stats().PeerFailures != 1 {
			t.Fatalf("failure not reported after %v", 20*time.Second)
		}
		// Memory stayed within the send buffer and the backlog's bound (SendBuffer), plus the
		// message that went over it.
		if limit := 2*cfg.SendBuffer + 2048; maxHeld > limit {
			t.Fatalf("bytes held for the silent peer grew to %d, limit %d (send buffer %d + backlog)", maxHeld, limit, cfg.SendBuffer)
		}
		if maxHeld <= cfg.SendBuffer {
			t.Fatalf("bytes held for the silent peer peaked at %d: the backlog never filled, the test proves nothing", maxHeld)
		}
		// Publishers are no longer blocked: messages to the failing peer are dropped and counted.
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		for range 100 {
			must(t, a.Send(ctx, Outgoing{Topic: "x", Payload: payload}))
		}
		if a.Stats().DropNoRoute == 0 {
			t.Fatal("drops to the failing peer not counted")
		}
		t.Logf("accepted %d messages before the failure; at most %d bytes held (buffer %d)", sent, maxHeld, cfg.SendBuffer)
	})
}

// startGhost puts a peer on the network that beacons (so it stays in a's table), says it wants
// every topic, and never acknowledges anything. stop ends its beacons.
func startGhost(t *testing.T, n *memnet.Network, a *Endpoint) (stop func()) {
	ghost, err := n.Listen(netip.AddrPortFrom(addrOf(7), 4000))
	must(t, err)
	crypto, err := wire.NewCrypto("test", nil)
	must(t, err)
	var pn uint64
	announce := func(withInterest bool) {
		pn++
		h := wire.Header{NetworkTag: wire.NetworkTag("test"), Sender: [16]byte{7, 7, 7}, SenderSession: 77, PacketNumber: pn}
		bc := wire.Beacon{ProtoVersion: 1, NetworkID: "test", Name: "ghost", DataAddr: ghost.AddrPort(), Interval: time.Second}
		frames := bc.AppendTo(nil)
		if withInterest {
			in := wire.AppendInterest(nil, &wire.Interest{Version: 1, Filters: []string{"#"}})
			d := wire.Data{Reliable: true, Seq: 1, MsgID: 1, FragIndex: 0, FragCount: 1, Payload: in}
			frames = d.AppendTo(frames)
		}
		if _, err := ghost.WriteToUDPAddrPort(crypto.Seal(nil, h, frames), a.dataAddr()); err != nil {
			t.Error(err)
		}
	}
	announce(true)
	var wg sync.WaitGroup
	done := make(chan struct{})
	wg.Go(func() {
		for {
			select {
			case <-done:
				return
			case <-time.After(500 * time.Millisecond):
				announce(false)
			}
		}
	})
	return func() { close(done); wg.Wait() }
}

// A peer that stops acknowledging does not hold back the others at once: what it cannot take
// waits in its own backlog, and the healthy peer gets every message while the stuck one is still
// within its give-up time.
func TestStuckPeerDoesNotStarveOthers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := memnet.New(13)
		cfg := memConfig(n, 1)
		cfg.SendBuffer = 256 << 10
		cfg.GiveUpAfter = 5 * time.Second
		a := startEndpoint(t, cfg)
		b := startEndpoint(t, memConfig(n, 2))
		var got collector
		must(t, b.Subscribe("load", "", got.handle))
		stop := startGhost(t, n, a)
		defer stop()
		waitFor(t, "peers", 5*time.Second, func() bool {
			ps := a.Peers()
			return len(ps) == 2 && ps[0].Interest && ps[1].Interest
		})
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		must(t, b.SyncInterest(ctx))
		start := time.Now()
		const count = 400 // 400 KB: more than the stuck peer's send buffer, less than buffer + backlog
		for range count {
			must(t, a.Send(ctx, Outgoing{Topic: "load", Payload: make([]byte, 1000)}))
		}
		waitFor(t, "healthy peer", 10*time.Second, func() bool { return got.len() == count })
		took := time.Since(start)
		t.Logf("healthy peer got %d messages in %v while another peer was stuck", count, took)
		if took >= cfg.GiveUpAfter {
			t.Fatalf("the healthy peer waited for the stuck one to be given up (%v)", took)
		}
		if a.Stats().PeerFailures != 0 {
			t.Fatal("the stuck peer was given up already: the test proves nothing")
		}
	})
}
