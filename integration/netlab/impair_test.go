package netlab

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// impairDelay is the delay Impair puts on one link in TestNetlabFaults.
const impairDelay = 80 * time.Millisecond

// impairmentLatency runs glue-mqtt on h1..h3 and measures the MQTT publish latency from h1 to
// subscribers on h2 and h3: with no impairment, with impairDelay on h1->h2 only (Impair, at run
// time), and with it removed again (ClearImpair). It returns summary figures.
func impairmentLatency(t *testing.T, lab *Lab) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	bin, err := Build(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	env := func(h *Host) map[string]string {
		e := lab.BaseEnv(h)
		e["GLUE_DISCOVERY_RATE_MILLISECONDS"] = "500"
		e["GLUE_DISCOVERY_RATE_TIMEOUT_MULTIPLIER"] = "10"
		return e
	}
	if err := lab.StartAll(ctx, bin, env); err != nil {
		t.Fatal(err)
	}
	if _, err := lab.WaitMesh(ctx); err != nil {
		t.Fatal(err)
	}
	for _, h := range lab.Hosts {
		if !strings.Contains(h.Process().Log(), "test impairment active") {
			t.Fatalf("%s: glue-mqtt did not log \"test impairment active\" with GLUE_TEST_IMPAIR_FILE set", h.Name)
		}
	}

	type arrival struct {
		host string
		seq  int
		at   time.Time
	}
	arrivals := make(chan arrival, 256)
	for _, i := range []int{2, 3} {
		h := lab.Host(i)
		c, err := h.ConnectMQTT(ctx, h.MQTTOptions(h.Name+"-latency-sub"))
		if err != nil {
			t.Fatal(err)
		}
		err = Subscribe(ctx, c, "netlab/latency", 1, func(_ mqtt.Client, m mqtt.Message) {
			var seq int
			if _, err := fmt.Sscanf(string(m.Payload()), "seq %d", &seq); err == nil {
				arrivals <- arrival{h.Name, seq, time.Now()}
			}
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	pub, err := lab.Host(1).ConnectMQTT(ctx, lab.Host(1).MQTTOptions("h1-latency-pub"))
	if err != nil {
		t.Fatal(err)
	}
	var seqMu sync.Mutex
	seq := 0
	// measure publishes rounds messages one at a time and returns the median latency to h2 and h3.
	measure := func(phase string, rounds int) (h2, h3 time.Duration) {
		t.Helper()
		lat := map[string][]time.Duration{}
		for range rounds {
			seqMu.Lock()
			seq++
			n := seq
			seqMu.Unlock()
			sent := time.Now()
			if err := WaitToken(ctx, pub.Publish("netlab/latency", 1, false, fmt.Sprintf("seq %d", n))); err != nil {
				t.Fatal(err)
			}
			got := map[string]bool{}
			deadline := time.After(10 * time.Second)
			for len(got) < 2 {
				select {
				case a := <-arrivals:
					if a.seq == n && !got[a.host] {
						got[a.host] = true
						lat[a.host] = append(lat[a.host], a.at.Sub(sent))
					}
				case <-deadline:
					t.Fatalf("%s: message %d reached only %v within 10s", phase, n, got)
				}
			}
		}
		h2, h3 = median(lat["h2"]), median(lat["h3"])
		t.Logf("%s: median MQTT latency h1->h2 %v, h1->h3 %v (%d messages each)", phase, h2.Round(100*time.Microsecond), h3.Round(100*time.Microsecond), rounds)
		return h2, h3
	}
	const rounds = 15
	base2, base3 := measure("no impairment", rounds)

	link := Link{From: 1, To: 2}
	if err := lab.Impair(link, fmt.Sprintf("delay=%v", impairDelay)); err != nil {
		t.Fatal(err)
	}
	rules, _ := os.ReadFile(lab.ImpairFile(lab.Host(1)))
	t.Logf("h1's rules file:\n%s", rules)
	slow2, slow3 := measure(fmt.Sprintf("delay %v on h1->h2", impairDelay), rounds)
	// The delayed link must be slower by most of the delay; the other link must not be: its
	// latency stays well below half the delay above its own baseline.
	if slow2-slow3 < impairDelay*3/4 {
		t.Errorf("with %v on h1->h2: h2 %v, h3 %v: h2 should be slower by at least %v", impairDelay, slow2, slow3, impairDelay*3/4)
	}
	if slow3 > base3+impairDelay/2 {
		t.Errorf("with %v on h1->h2 only: h3 slowed from %v to %v", impairDelay, base3, slow3)
	}
	delayed := impairCount(t, ctx, lab.Host(1), "delayed")
	loads := impairCount(t, ctx, lab.Host(1), "rule_loads")
	if delayed == 0 || loads < 2 {
		t.Errorf("h1's /metrics: %v datagrams delayed, %v rule loads: want both > 0 (and the change loaded)", delayed, loads)
	}

	if err := lab.ClearImpair(link); err != nil {
		t.Fatal(err)
	}
	delayedAtClear := impairCount(t, ctx, lab.Host(1), "delayed")
	fast2, fast3 := measure("delay removed", rounds)
	if fast2-fast3 > impairDelay/2 {
		t.Errorf("delay removed: h2 %v, h3 %v: h2 still slow", fast2, fast3)
	}
	if after := impairCount(t, ctx, lab.Host(1), "delayed"); after != delayedAtClear {
		t.Errorf("datagrams still delayed after ClearImpair: %v -> %v", delayedAtClear, after)
	}
	return []string{
		fmt.Sprintf("latency_h1->h2/h3_ms{none=%.1f/%.1f delay%v=%.1f/%.1f removed=%.1f/%.1f}", ms(base2), ms(base3), impairDelay, ms(slow2), ms(slow3), ms(fast2), ms(fast3)),
		fmt.Sprintf("h1_datagrams_delayed=%.0f", delayed),
	}
}

// impairCount reads one of the host's glue_mesh_test_impairment_total counters from /metrics.
func impairCount(t *testing.T, ctx context.Context, h *Host, action string) float64 {
	t.Helper()
	m, err := h.ScrapeMetrics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	v, ok := m.Value(fmt.Sprintf(`glue_mesh_test_impairment_total{action=%q}`, action))
	if !ok {
		t.Fatalf("%s: no impairment counter %q on /metrics", h.Name, action)
	}
	return v
}

func median(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return -1
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
