package integration

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/glue-mqtt/glue-mqtt/integration/netlab"
)

// The faults of TestNetlabLossQoS: nft loss and duplication on every link, and delay, jitter and
// reordering of every mesh datagram inside glue-mqtt (GLUE_TEST_IMPAIR).
const (
	qosLoss      = 0.10
	qosDuplicate = 0.05
	qosImpair    = "delay=1ms,jitter=2ms,reorder=0.1"
)

// TestNetlabLossQoS: with 10% loss, 5% duplication and reordering on every link, messages
// published on host 1 reach the subscribers on every other host: at QoS 1 all of them, at QoS 2
// all of them exactly once, and in publish order at both levels.
func TestNetlabLossQoS(t *testing.T) {
	bin := glueBinary(t)
	n := hostCount(5)
	count := *netlabMessages
	lab := netlab.New(t, netlab.Options{Hosts: n})
	timing := lossyDiscovery
	// Budgets measured for the default 5 hosts and 10,000 messages (which take well under a
	// minute per QoS level), scaled to -netlab.hosts and -netlab.messages.
	publishBudget := loadBudget(4*time.Minute, n, count)
	deliverBudget := loadBudget(2*time.Minute, n, count)
	ctx := timeout(t, 2*(publishBudget+deliverBudget)+2*time.Minute)
	if err := lab.SetLossAll(qosLoss); err != nil {
		t.Fatal(err)
	}
	if err := lab.SetDuplicateAll(qosDuplicate); err != nil {
		t.Fatal(err)
	}
	if err := lab.StartAll(ctx, bin, envFor(lab, timing, map[string]string{"GLUE_TEST_IMPAIR": qosImpair})); err != nil {
		t.Fatal(err)
	}
	if _, err := lab.WaitMesh(timeout(t, loadBudget(30*time.Second, n, 0))); err != nil {
		t.Fatal(err)
	}
	for _, h := range lab.Hosts {
		if !strings.Contains(h.Process().Log(), "test impairment active") {
			t.Fatalf("%s: glue-mqtt did not log \"test impairment active\": delay/jitter/reorder (GLUE_TEST_IMPAIR) not applied", h.Name)
		}
	}
	var summary []string
	for _, qos := range []byte{1, 2} {
		t.Run(fmt.Sprintf("qos%d", qos), func(t *testing.T) {
			topic := fmt.Sprintf("netlab/load/qos%d/h1", qos)
			var trackers []*tracker
			for _, h := range lab.Hosts[1:] {
				tr := newTracker(h.Name)
				c, err := h.ConnectMQTT(ctx, h.MQTTOptions(fmt.Sprintf("%s-load-sub-q%d", h.Name, qos)))
				if err != nil {
					t.Fatal(err)
				}
				if err := netlab.Subscribe(ctx, c, fmt.Sprintf("netlab/load/qos%d/#", qos), qos, tr.handler); err != nil {
					t.Fatal(err)
				}
				trackers = append(trackers, tr)
			}
			h1 := lab.Host(1)
			pub, err := h1.ConnectMQTT(ctx, h1.MQTTOptions(fmt.Sprintf("h1-load-pub-q%d", qos)))
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			if err := publishSequence(timeout(t, publishBudget), pub, "h1", topic, qos, count, 256, nil); err != nil {
				t.Fatal(err)
			}
			published := time.Since(start)
			waitErr := waitUnique(timeout(t, deliverBudget), trackers, []string{topic}, count)
			delivered := time.Since(start)
			var lines []string
			for _, tr := range trackers {
				s := tr.stream(topic)
				missing, first := tr.missing(topic, count)
				line := fmt.Sprintf("%s: received=%d unique=%d missing=%d dups=%d reordered=%d", tr.name, s.Received, s.Unique, missing, s.Dups, s.Reordered)
				t.Log(line)
				lines = append(lines, fmt.Sprintf("%s:miss=%d,dup=%d,reord=%d", tr.name, missing, s.Dups, s.Reordered))
				if missing > 0 {
					t.Errorf("%s: %d of %d QoS %d messages never arrived (first: %v)", tr.name, missing, count, qos, first)
				}
				if qos == 2 && s.Dups > 0 {
					t.Errorf("%s: %d QoS 2 messages delivered more than once", tr.name, s.Dups)
				}
				if s.Reordered > 0 {
					t.Errorf("%s: %d messages out of publish order", tr.name, s.Reordered)
				}
			}
			if waitErr != nil {
				t.Error(waitErr)
			}
			rate := float64(count) / delivered.Seconds()
			t.Logf("QoS %d: %d messages h1 -> %d subscribers: published (all acked) in %v, all delivered in %v (%.0f msg/s per subscriber)",
				qos, count, len(trackers), published.Round(time.Millisecond), delivered.Round(time.Millisecond), rate)
			summary = append(summary, fmt.Sprintf("qos%d{published=%v delivered=%v %.0fmsg/s %s}", qos,
				published.Round(time.Millisecond), delivered.Round(time.Millisecond), rate, strings.Join(lines, " ")))
		})
	}
	counters, err := lab.FaultCounters()
	if err != nil {
		t.Error(err)
	}
	if counters["loss"] == 0 || counters["duplicate"] == 0 {
		t.Errorf("the nft faults hit nothing (%v): the scenario did not test what it claims", counters)
	}
	// Delay and reordering happen inside every glue-mqtt: each must have done both, as its
	// /metrics counts say.
	delayed, err := sampleMetric(ctx, lab, `glue_mesh_test_impairment_total{action="delayed"}`)
	if err != nil {
		t.Fatal(err)
	}
	reordered, err := sampleMetric(ctx, lab, `glue_mesh_test_impairment_total{action="reordered"}`)
	if err != nil {
		t.Fatal(err)
	}
	var impairLines []string
	var delayedTotal, reorderedTotal float64
	for i, h := range lab.Hosts {
		impairLines = append(impairLines, fmt.Sprintf("%s:%.0f/%.0f", h.Name, delayed[i], reordered[i]))
		delayedTotal += delayed[i]
		reorderedTotal += reordered[i]
		if delayed[i] == 0 || reordered[i] == 0 {
			t.Errorf("%s: glue-mqtt delayed %.0f and reordered %.0f datagrams: want both > 0 (%s)", h.Name, delayed[i], reordered[i], qosImpair)
		}
	}
	t.Logf("datagrams delayed/reordered by each glue-mqtt: %s", strings.Join(impairLines, " "))
	t.Logf("summary: TestNetlabLossQoS hosts=%d messages=%d loss=%.0f%% dup=%.0f%% impair=%q frames_dropped=%d frames_duplicated=%d datagrams_delayed=%.0f datagrams_reordered=%.0f %s",
		n, count, qosLoss*100, qosDuplicate*100, qosImpair, counters["loss"], counters["duplicate"], delayedTotal, reorderedTotal, strings.Join(summary, " "))
}
