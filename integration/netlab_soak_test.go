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
	soakRate           = 50               // messages per second per publisher
	soakLoss           = 0.05             // nft loss on every link
	soakRSSInterval    = 5 * time.Second  // RSS sampling period
	soakWarmup         = 10 * time.Second // RSS baseline is the first sample after this
	soakRSSGrowthMiB   = 64.0             // allowed growth above 1.5 x the baseline
	soakGoroutineSlack = 10               // goroutines allowed above the count after the warm-up
)

// TestNetlabSoak: every host publishes QoS 1 at a steady rate and subscribes to everything, for
// -netlab.soak (60s by default) under 5% loss on every link. No message is lost, and the RSS of
// every glue-mqtt, sampled every few seconds, stays roughly flat. (Goroutine counts are not
// observable from outside: glue-mqtt exposes no metrics endpoint yet.)
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
	if err := lab.StartAll(ctx, bin, envFor(lab, timing, map[string]string{"GLUE_METRICS_LISTEN_ADDRESS": metricsAddr})); err != nil {
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
	type sample struct {
		at  time.Duration
		rss []float64
	}
	samples := []sample{{0, sampleRSS(lab)}}
	var goroutinesAtWarmup []int
	ticker := time.NewTicker(soakRSSInterval)
	for pubCtx.Err() == nil {
		select {
		case <-ticker.C:
			samples = append(samples, sample{time.Since(start), sampleRSS(lab)})
			if goroutinesAtWarmup == nil && time.Since(start) >= soakWarmup {
				goroutinesAtWarmup = sampleGoroutines(ctx, lab)
			}
		case <-pubCtx.Done():
		}
	}
	ticker.Stop()
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
	samples = append(samples, sample{time.Since(start), sampleRSS(lab)})

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

	// RSS: baseline is the first sample after the warm-up; the last sample may grow at most to
	// 1.5 x baseline + soakRSSGrowthMiB (generous: the point is to catch leaks that scale with
	// the message count, not allocator noise).
	baseline := samples[len(samples)-1]
	for _, s := range samples {
		if s.at >= soakWarmup {
			baseline = s
			break
		}
	}
	last := samples[len(samples)-1]
	var rssLines []string
	for i, h := range lab.Hosts {
		var series []string
		for _, s := range samples {
			series = append(series, fmt.Sprintf("%.1f", s.rss[i]))
		}
		line := fmt.Sprintf("%s rss MiB every %v: %s", h.Name, soakRSSInterval, strings.Join(series, " "))
		t.Log(line)
		rssLines = append(rssLines, fmt.Sprintf("%s:%.1f->%.1fMiB", h.Name, baseline.rss[i], last.rss[i]))
		if limit := 1.5*baseline.rss[i] + soakRSSGrowthMiB; last.rss[i] > limit {
			t.Errorf("%s: RSS grew from %.1f MiB (at %v) to %.1f MiB, above the bound %.1f MiB", h.Name, baseline.rss[i], baseline.at.Round(time.Second), last.rss[i], limit)
		}
	}
	counters, err := lab.FaultCounters()
	if err != nil {
		t.Error(err)
	}
	sentTotal := 0
	for _, s := range sent {
		sentTotal += s
	}
	// Goroutines (from each process's Prometheus endpoint): after the load, no growth beyond a
	// small slack over the count at the end of the warm-up (same clients, same peers).
	goroutinesAtEnd := sampleGoroutines(ctx, lab)
	if goroutinesAtWarmup == nil {
		goroutinesAtWarmup = goroutinesAtEnd
	}
	var goroutineLines []string
	for i, h := range lab.Hosts {
		before, after := goroutinesAtWarmup[i], goroutinesAtEnd[i]
		goroutineLines = append(goroutineLines, fmt.Sprintf("%s:%d->%d", h.Name, before, after))
		switch {
		case before < 0 || after < 0:
			t.Errorf("%s: goroutines not readable from %s/metrics", h.Name, metricsAddr)
		case after > before+soakGoroutineSlack:
			t.Errorf("%s: goroutines grew from %d to %d", h.Name, before, after)
		}
	}
	t.Logf("goroutines after warm-up -> after the load: %s", strings.Join(goroutineLines, " "))
	t.Logf("summary: TestNetlabSoak hosts=%d duration=%v rate=%d/s/publisher loss=%.0f%% published=%d deliveries=%d lost=%d dups=%d reordered=%d drain=%v frames_dropped=%d rss[%s]",
		n, published.Round(time.Second), soakRate, soakLoss*100, sentTotal, total, lost, dups, reordered,
		drained.Round(time.Millisecond), counters["loss"], strings.Join(rssLines, " "))
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
