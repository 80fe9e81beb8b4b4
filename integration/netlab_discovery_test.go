package integration

import (
	"testing"
	"time"

	"github.com/glue-mqtt/glue-mqtt/integration/netlab"
)

// TestNetlabDiscovery: N hosts find each other by multicast within two beacon periods; a host
// killed with SIGKILL is forgotten by all others within the expiry time; restarted, it rejoins
// within two beacon periods, and MQTT flows between every pair of hosts before and after.
func TestNetlabDiscovery(t *testing.T) {
	bin := glueBinary(t)
	n := hostCount(5)
	lab := netlab.New(t, netlab.Options{Hosts: n})
	timing := fastDiscovery
	ctx := timeout(t, 90*time.Second)

	if err := lab.StartAll(ctx, bin, envFor(lab, timing, nil)); err != nil {
		t.Fatal(err)
	}
	if _, err := lab.WaitMesh(timeout(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	joined := meshJoinTime(t, lab)
	t.Logf("multicast discovery of %d hosts: full mesh %v after the last host started (beacon period %v)", n, joined.Round(time.Millisecond), timing.Rate)
	if joined > 2*timing.Rate {
		t.Errorf("full mesh after %v, want within two beacon periods (%v)", joined, 2*timing.Rate)
	}
	probe1 := probeMatrix(t, ctx, lab, "before")
	t.Logf("MQTT probe matrix %dx%d: all delivered in %v", n, n, probe1.Round(time.Millisecond))

	victim := lab.Host(3)
	var observers []int
	for _, i := range lab.Indices() {
		if i != victim.Index {
			observers = append(observers, i)
		}
	}
	victim.Kill()
	// Measured from the moment SIGKILL was sent to the moment each observer's glue-mqtt logged
	// the victim gone (its own log time), so neither the wait for the process to exit nor the
	// harness's polling can shift the figure.
	killedAt := victim.Process().KilledAt()
	if _, err := lab.WaitForgotten(timeout(t, 4*timing.Expiry()), victim.Name, observers...); err != nil {
		t.Fatal(err)
	}
	var gone time.Duration
	for _, i := range observers {
		at, reason, ok := lab.GoneAt(i, victim.Name, killedAt)
		if !ok {
			t.Fatalf("%s forgot %s without logging it", lab.Host(i).Name, victim.Name)
		}
		if reason != "expired" {
			t.Errorf("%s: %s gone with reason %q, want expired", lab.Host(i).Name, victim.Name, reason)
		}
		gone = max(gone, at.Sub(killedAt))
	}
	t.Logf("%s killed (SIGKILL): forgotten by all %d others %v after the kill (expiry %v)", victim.Name, len(observers), gone.Round(time.Millisecond), timing.Expiry())
	// A peer's last beacon came at most one period before the kill, and the expiry is checked
	// on the beacon tick: allow the expiry plus one period.
	if gone > timing.Expiry()+timing.Rate {
		t.Errorf("%s forgotten after %v, want within the expiry %v (+ one beacon period)", victim.Name, gone, timing.Expiry())
	}

	if _, err := victim.Restart(bin); err != nil {
		t.Fatal(err)
	}
	if err := victim.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := lab.WaitMesh(timeout(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	rejoined := meshJoinTime(t, lab, victim.Index)
	t.Logf("%s restarted: full mesh again %v after it started", victim.Name, rejoined.Round(time.Millisecond))
	if rejoined > 2*timing.Rate {
		t.Errorf("rejoin took %v, want within two beacon periods (%v)", rejoined, 2*timing.Rate)
	}
	probe2 := probeMatrix(t, ctx, lab, "after")
	t.Logf("summary: TestNetlabDiscovery hosts=%d beacon=%v join=%v killed_forgotten=%v (expiry %v) rejoin=%v probes_before=%v probes_after=%v",
		n, timing.Rate, joined.Round(time.Millisecond), gone.Round(time.Millisecond), timing.Expiry(),
		rejoined.Round(time.Millisecond), probe1.Round(time.Millisecond), probe2.Round(time.Millisecond))
}

// TestNetlabRendezvous: with every multicast frame dropped on the segment, N hosts find each
// other through a unicast rendezvous on host 1, and MQTT flows between every pair.
func TestNetlabRendezvous(t *testing.T) {
	bin := glueBinary(t)
	n := hostCount(5)
	lab := netlab.New(t, netlab.Options{Hosts: n})
	timing := fastDiscovery
	ctx := timeout(t, 90*time.Second)
	if err := lab.BlockMulticast(true); err != nil {
		t.Fatal(err)
	}
	rendezvous := lab.Host(1).Addr.String() + ":27400"
	base := envFor(lab, timing, map[string]string{"GLUE_DISCOVERY_TARGET_ADDRESS": rendezvous})
	env := func(h *netlab.Host) map[string]string {
		e := base(h)
		if h.Index == 1 {
			e["GLUE_DISCOVERY_LISTEN_ADDRESS"] = rendezvous
		}
		return e
	}
	if err := lab.StartAll(ctx, bin, env); err != nil {
		t.Fatal(err)
	}
	if _, err := lab.WaitMesh(timeout(t, 20*time.Second)); err != nil {
		t.Fatal(err)
	}
	joined := meshJoinTime(t, lab)
	t.Logf("rendezvous discovery of %d hosts (multicast blocked): full mesh %v after the last host started (beacon period %v)", n, joined.Round(time.Millisecond), timing.Rate)
	if joined > 3*timing.Rate {
		t.Errorf("full mesh after %v, want within three beacon periods (%v): one to reach the rendezvous, one to hear of the others, one spare", joined, 3*timing.Rate)
	}
	probe := probeMatrix(t, ctx, lab, "rdv")
	// Multicast really is blocked in this lab: a multicast probe from h2 reaches no other host,
	// and the block's nft counter shows it dropped the probe's frames.
	const probes = 50
	var others []int
	for i := 3; i <= n; i++ {
		others = append(others, i)
	}
	arrived, err := lab.MulticastReach(2, others, probes)
	if err != nil {
		t.Fatal(err)
	}
	counters, err := lab.FaultCounters()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("multicast probe h2 -> h3..h%d: %v of %d arrived; nft multicast drops %d", n, arrived, probes, counters["multicast"])
	for k, got := range arrived {
		if got != 0 {
			t.Errorf("multicast crossed the block: %d of %d probes reached h%d", got, probes, others[k])
		}
	}
	if counters["multicast"] < probes {
		t.Errorf("the multicast block dropped %d frames, want at least the %d probes", counters["multicast"], probes)
	}
	t.Logf("summary: TestNetlabRendezvous hosts=%d beacon=%v join=%v probes=%v multicast_probe_arrived=%v/%d multicast_frames_dropped=%d",
		n, timing.Rate, joined.Round(time.Millisecond), probe.Round(time.Millisecond), arrived, probes, counters["multicast"])
}
