package integration

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/glue-mqtt/glue-mqtt/integration/netlab"
)

const (
	soakRate           = 50              // messages per second per publisher
	soakLoss           = 0.05            // nft loss on every link
	soakSampleInterval = 2 * time.Second // RSS and heap sampling period
	soakGoroutineSlack = 10              // goroutines allowed above the count after the warm-up
	// The second half of the run may add at most this much to the live Go heap (estimated from
	// the GC's heap goal, window minimum to window minimum, see checkSoakMemory) and to the RSS.
	soakHeapGrowthMiB = 4.0
	soakRSSGrowthMiB  = 16.0
)

// TestNetlabSoak: every host publishes QoS 1 at a steady rate and subscribes to everything, for
// -netlab.soak (60s by default) under 5% loss on every link. No message is lost; the live Go heap
// (from each glue-mqtt's /metrics) and the RSS of every glue-mqtt, sampled every few seconds, do
// not grow over the second half of the run; the goroutine count (go_goroutines) does not grow
// either.
func TestNetlabSoak(t *testing.T) {
	bin := glueBinary(t)
	n := hostCount(5)
	duration := *netlabSoak
	lab := netlab.New(t, netlab.Options{Hosts: n})
	timing := lossyDiscovery
	ctx := timeout(t, duration+5*time.Minute)
	if err := lab.SetLossAll(soakLoss); err != nil {
		t.Fatal(err)
	}
	if err := lab.StartAll(ctx, bin, envFor(lab, timing, nil)); err != nil {
		t.Fatal(err)
	}
	if _, err := lab.WaitMesh(timeout(t, 30*time.Second)); err != nil {
		t.Fatal(err)
	}
	var trackers []*tracker
	var topics []string
	for _, h := range lab.Hosts {
		tr := newTracker(h.Name)
		c, err := h.ConnectMQTT(ctx, h.MQTTOptions(h.Name+"-soak-sub"))
		if err != nil {
			t.Fatal(err)
		}
		if err := netlab.Subscribe(ctx, c, "netlab/soak/#", 1, tr.handler); err != nil {
			t.Fatal(err)
		}
		trackers = append(trackers, tr)
		topics = append(topics, "netlab/soak/"+h.Name)
	}
	var pubs []mqtt.Client
	for _, h := range lab.Hosts {
		c, err := h.ConnectMQTT(ctx, h.MQTTOptions(h.Name+"-soak-pub"))
		if err != nil {
			t.Fatal(err)
		}
		pubs = append(pubs, c)
	}

	start := time.Now()
	pubCtx, stopPublishing := context.WithTimeout(ctx, duration)
	defer stopPublishing()
	sent := make([]int, n)
	pubErrs := make([]error, n)
	var wg sync.WaitGroup
	for i, c := range pubs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sent[i], pubErrs[i] = publishSteadily(pubCtx, ctx, c, lab.Hosts[i].Name, topics[i], soakRate)
		}()
	}
	var samples []memSample
	take := func() {
		s := memSample{at: time.Since(start)}
		var err error
		if s.rss, err = sampleRSS(lab); err == nil {
			s.heap, err = sampleMetric(ctx, lab, "go_memstats_heap_inuse_bytes")
		}
		if err == nil {
			s.goal, err = sampleMetric(ctx, lab, "go_memstats_next_gc_bytes")
		}
		if err != nil {
			stopPublishing()
			t.Fatalf("memory sample at %v: %v", s.at.Round(time.Second), err)
		}
		samples = append(samples, s)
	}
	take()
	var goroutinesAtHalf []float64
	ticker := time.NewTicker(soakSampleInterval)
	for pubCtx.Err() == nil {
		select {
		case <-ticker.C:
			take()
			if goroutinesAtHalf == nil && time.Since(start) >= duration/2 {
				var err error
				if goroutinesAtHalf, err = sampleMetric(ctx, lab, "go_goroutines"); err != nil {
					stopPublishing()
					t.Fatal(err)
				}
			}
		case <-pubCtx.Done():
		}
	}
	ticker.Stop()
	take()
	wg.Wait()
	published := time.Since(start)
	for i, err := range pubErrs {
		if err != nil {
			t.Errorf("%s publisher: %v", lab.Hosts[i].Name, err)
		}
	}
	drainStart := time.Now()
	var waitErrs []error
	for i, topic := range topics {
		if err := waitUnique(timeout(t, time.Minute), trackers, []string{topic}, sent[i]); err != nil {
			waitErrs = append(waitErrs, err)
		}
	}
	drained := time.Since(drainStart)

	total, lost, dups, reordered := 0, 0, 0, 0
	for _, tr := range trackers {
		for i, topic := range topics {
			s := tr.stream(topic)
			missing, first := tr.missing(topic, sent[i])
			total += s.Unique
			lost += missing
			dups += s.Dups
			reordered += s.Reordered
			if missing > 0 {
				t.Errorf("%s: %d of %d messages from %s never arrived (first %v)", tr.name, missing, sent[i], lab.Hosts[i].Name, first)
			}
			if s.Reordered > 0 {
				t.Errorf("%s: %d messages from %s out of order", tr.name, s.Reordered, lab.Hosts[i].Name)
			}
		}
	}
	for _, err := range waitErrs {
		t.Error(err)
	}
	memLines := checkSoakMemory(t, lab, samples, duration)

	counters, err := lab.FaultCounters()
	if err != nil {
		t.Error(err)
	}
	sentTotal := 0
	for _, s := range sent {
		sentTotal += s
	}
	// Goroutines (from each process's Prometheus endpoint): after the load, no growth beyond a
	// small slack over the count at half time (same clients, same peers).
	goroutinesAtEnd, err := sampleMetric(ctx, lab, "go_goroutines")
	if err != nil {
		t.Fatal(err)
	}
	if goroutinesAtHalf == nil {
		goroutinesAtHalf = goroutinesAtEnd
	}
	var goroutineLines []string
	for i, h := range lab.Hosts {
		before, after := goroutinesAtHalf[i], goroutinesAtEnd[i]
		goroutineLines = append(goroutineLines, fmt.Sprintf("%s:%.0f->%.0f", h.Name, before, after))
		if after > before+soakGoroutineSlack {
			t.Errorf("%s: goroutines grew from %.0f to %.0f", h.Name, before, after)
		}
	}
	t.Logf("goroutines at half time -> after the load: %s", strings.Join(goroutineLines, " "))
	t.Logf("summary: TestNetlabSoak hosts=%d duration=%v rate=%d/s/publisher loss=%.0f%% published=%d deliveries=%d lost=%d dups=%d reordered=%d drain=%v frames_dropped=%d goroutines[%s] %s",
		n, published.Round(time.Second), soakRate, soakLoss*100, sentTotal, total, lost, dups, reordered,
		drained.Round(time.Millisecond), counters["loss"], strings.Join(goroutineLines, " "), strings.Join(memLines, " "))
}

// memSample is one sampling of every host: RSS in MiB; Go heap in use and the GC's heap goal in
// bytes.
type memSample struct {
	at   time.Duration
	rss  []float64
	heap []float64
	goal []float64
}

// checkSoakMemory prints the memory series and checks that the second half of the run adds no
// more than soakHeapGrowthMiB to any process's live Go heap and soakRSSGrowthMiB to its RSS, and
// returns the summary figures.
//
// What grows in a soak without a leak: bounded structures filling (the bridge's dedupe ring of
// 65,536 keys takes more than five minutes of this load to wrap) and the heap's footprint growing
// to the highest peak of its GC cycle. RSS shows both late and coarsely: pages of preallocated,
// zeroed memory become resident only when first written, and memory the heap once grew to is
// returned to the OS only slowly. That is the slow RSS climb of the first soaks (about 0.1 MiB
// per 5 s per host) while the heap in use, at its low points, stays flat: no leak. So RSS keeps
// a loose bound against gross growth outside the Go heap, and the leak check is on the live heap.
//
// The heap in use (go_memstats_heap_inuse_bytes, printed) is a poor measure of it: it includes
// garbage not yet collected and swings with every GC cycle between the live heap and about twice
// that (GOGC=100), a cycle of several seconds here. The GC's heap goal
// (go_memstats_next_gc_bytes) is set at the end of each cycle from the heap found live then, so
// goal/2 tracks the live heap without the swing. The check compares its minimum over the first
// third of the second half with its minimum over the last third: a leak of L bytes per message,
// at the ~250 messages per second each host sends and receives here, adds L x 250/s x (a third of
// the run) between the two, e.g. about 5 MiB for 1 KiB per message over the default 60 s, above
// the bound; a run by hand with -netlab.soak=10m catches leaks ten times smaller. A process in
// steady state moved by well under a MiB in the runs that set the bound.
func checkSoakMemory(t *testing.T, lab *netlab.Lab, samples []memSample, duration time.Duration) []string {
	t.Helper()
	const mib = 1 << 20
	var second []memSample
	for _, s := range samples {
		if s.at >= duration/2 {
			second = append(second, s)
		}
	}
	if len(second) < 3 {
		t.Errorf("only %d memory samples in the second half of the run: make -netlab.soak longer than %v", len(second), 6*soakSampleInterval)
		return nil
	}
	third := max(1, len(second)/3)
	early, late := second[:third], second[len(second)-third:]
	minLive := func(ss []memSample, i int) float64 {
		m := ss[0].goal[i]
		for _, s := range ss[1:] {
			m = min(m, s.goal[i])
		}
		return m / 2 / mib
	}
	series := func(i int, v func(memSample) float64) string {
		var out []string
		for _, s := range samples {
			out = append(out, fmt.Sprintf("%.1f", v(s)))
		}
		return strings.Join(out, " ")
	}
	var lines []string
	for i, h := range lab.Hosts {
		t.Logf("%s every %v: rss MiB %s", h.Name, soakSampleInterval, series(i, func(s memSample) float64 { return s.rss[i] }))
		t.Logf("%s every %v: heap in use MiB %s", h.Name, soakSampleInterval, series(i, func(s memSample) float64 { return s.heap[i] / mib }))
		t.Logf("%s every %v: live heap (GC goal/2) MiB %s", h.Name, soakSampleInterval, series(i, func(s memSample) float64 { return s.goal[i] / 2 / mib }))
		l0, l1 := minLive(early, i), minLive(late, i)
		r0, r1 := second[0].rss[i], second[len(second)-1].rss[i]
		t.Logf("%s second half: live heap %.2f -> %.2f MiB (%+.2f), rss %.1f -> %.1f MiB (%+.1f)", h.Name, l0, l1, l1-l0, r0, r1, r1-r0)
		lines = append(lines, fmt.Sprintf("%s:live%.1f%+.2f,rss%.1f%+.1fMiB", h.Name, l1, l1-l0, r1, r1-r0))
		if l1-l0 > soakHeapGrowthMiB {
			t.Errorf("%s: the live Go heap grew by %.2f MiB over the second half of the run (%.2f -> %.2f MiB), above %.0f MiB: a leak?", h.Name, l1-l0, l0, l1, soakHeapGrowthMiB)
		}
		if r1-r0 > soakRSSGrowthMiB {
			t.Errorf("%s: RSS grew by %.1f MiB over the second half of the run (%.1f -> %.1f MiB), above %.0f MiB", h.Name, r1-r0, r0, r1, soakRSSGrowthMiB)
		}
	}
	return lines
}

// publishSteadily publishes QoS 1 at rate per second on topic until run ends, each message
// acknowledged within ackCtx (at most rate unacknowledged at once), and returns how many it sent.
func publishSteadily(run, ackCtx context.Context, c mqtt.Client, publisher, topic string, rate int) (int, error) {
	ticker := time.NewTicker(time.Second / time.Duration(rate))
	defer ticker.Stop()
	var pending []mqtt.Token
	seq := 0
	for {
		select {
		case <-run.Done():
			for _, tok := range pending {
				if err := netlab.WaitToken(ackCtx, tok); err != nil {
					return seq, fmt.Errorf("integration: soak publish: %w", err)
				}
			}
			return seq, nil
		case <-ticker.C:
		}
		for len(pending) > 0 {
			select {
			case <-pending[0].Done():
				if err := pending[0].Error(); err != nil {
					return seq, fmt.Errorf("integration: soak publish: %w", err)
				}
				pending = pending[1:]
				continue
			default:
			}
			break
		}
		if len(pending) >= rate {
			if err := netlab.WaitToken(ackCtx, pending[0]); err != nil {
				return seq, fmt.Errorf("integration: soak publish: %w", err)
			}
			pending = pending[1:]
		}
		pending = append(pending, c.Publish(topic, 1, false, payload(publisher, seq)))
		seq++
	}
}
