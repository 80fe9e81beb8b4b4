package reliable

import (
	"testing"
	"time"
)

// TestRTTConvergesOnFixedDelay sends alternately one and two items per 50 ms over a link of
// 10 ms each way: pairs are acked at once, single items after MaxAckDelay. srtt must converge
// to the 20 ms path RTT, with the reported ACK delay removed.
func TestRTTConvergesOnFixedDelay(t *testing.T) {
	cfg := DefaultConfig()
	sim := newSimulation(t, cfg, 5)
	for _, l := range []*simLink{&sim.fwd, &sim.back} {
		l.minDelay, l.maxDelay = 10*time.Millisecond, 10*time.Millisecond
	}
	sim.itemSize = 100
	item := 0
	for round := 0; round < 200; round++ {
		item += 1 + round%2
		sim.transfer(item, time.Second)
		sim.now = sim.now.Add(50 * time.Millisecond)
	}
	st := sim.snd.Stats()
	t.Logf("srtt %v, rttvar %v, min_rtt %v after %d items", st.SRTT, st.RTTVar, st.MinRTT, item)
	if d := st.SRTT - 20*time.Millisecond; d < -500*time.Microsecond || d > 500*time.Microsecond {
		t.Errorf("srtt = %v, want 20ms +- 0.5ms", st.SRTT)
	}
	if st.MinRTT != 20*time.Millisecond {
		t.Errorf("min_rtt = %v, want 20ms", st.MinRTT)
	}
	if st.Retransmitted != 0 {
		t.Errorf("%d retransmissions on a clean link", st.Retransmitted)
	}
}

func TestRTTAckDelayBounds(t *testing.T) {
	e := rttEstimator{initial: 20 * time.Millisecond, maxAckDelay: 5 * time.Millisecond}
	if e.srtt() != 20*time.Millisecond || e.rttvar() != 10*time.Millisecond {
		t.Fatalf("before samples: srtt %v rttvar %v", e.srtt(), e.rttvar())
	}
	e.update(20*time.Millisecond, 0)
	// A claimed 1 s delay is capped at MaxAckDelay: 40-5 = 35 ms enters the average.
	e.update(40*time.Millisecond, time.Second)
	if want := (7*20*time.Millisecond + 35*time.Millisecond) / 8; e.smoothed != want {
		t.Errorf("srtt = %v, want %v", e.smoothed, want)
	}
	// A delay that would take the sample below min_rtt is not subtracted.
	before := e.smoothed
	e.update(22*time.Millisecond, 5*time.Millisecond)
	if want := (7*before + 22*time.Millisecond) / 8; e.smoothed != want {
		t.Errorf("srtt = %v, want %v", e.smoothed, want)
	}
}
