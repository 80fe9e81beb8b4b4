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
	joined := sinceLastStart(lab)
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
	killedAt := time.Now()
	victim.Kill()
	gone, err := lab.WaitForgotten(timeout(t, 4*timing.Expiry()), victim.Name, observers...)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s killed (SIGKILL): forgotten by all %d others after %v (expiry %v)", victim.Name, len(observers), gone.Round(time.Millisecond), timing.Expiry())
	// A peer's last beacon came at most one period before the kill, and the expiry is checked
	// on the beacon tick: allow the expiry plus one period.
	if gone > timing.Expiry()+timing.Rate {
		t.Errorf("%s forgotten after %v, want within the expiry %v (+ one beacon period)", victim.Name, gone, timing.Expiry())
	}
	for _, i := range observers {
		for _, ev := range lab.Host(i).Process().Events() {
			if ev.Name == victim.Name && ev.Kind == "gone" && ev.Time.After(killedAt) && ev.Reason != "expired" {
				t.Errorf("%s: %s gone with reason %q, want expired", lab.Host(i).Name, victim.Name, ev.Reason)
			}
		}
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
	rejoined := sinceLastStart(lab, victim.Index)
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
	joined := sinceLastStart(lab)
	t.Logf("rendezvous discovery of %d hosts (multicast blocked): full mesh %v after the last host started (beacon period %v)", n, joined.Round(time.Millisecond), timing.Rate)
	if joined > 3*timing.Rate {
		t.Errorf("full mesh after %v, want within three beacon periods (%v): one to reach the rendezvous, one to hear of the others, one spare", joined, 3*timing.Rate)
	}
	probe := probeMatrix(t, ctx, lab, "rdv")
	t.Logf("summary: TestNetlabRendezvous hosts=%d beacon=%v join=%v probes=%v", n, timing.Rate, joined.Round(time.Millisecond), probe.Round(time.Millisecond))
}
