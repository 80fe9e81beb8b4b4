package integration

import (
	"context"
	"flag"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/glue-mqtt/glue-mqtt/integration/netlab"
)

var (
	netlabHosts    = flag.Int("netlab.hosts", 5, "hosts per Netlab scenario (at least 5; e.g. 20 by hand)")
	netlabSoak     = flag.Duration("netlab.soak", 60*time.Second, "how long TestNetlabSoak publishes (e.g. 10m by hand)")
	netlabMessages = flag.Int("netlab.messages", 10000, "messages per QoS level in TestNetlabLossQoS")
)

// binDir holds the glue-mqtt binary built for this test binary; TestMain removes it. Its name
// carries the test process's PID, so that the directory of a run that crashed (a panic, a
// -timeout) is recognised and removed by the next run.
var binDir string

const binDirPrefix = "glue-mqtt-netlab-"

func TestMain(m *testing.M) {
	flag.Parse()
	if err := netlab.SweepStaleDirs(os.TempDir(), binDirPrefix); err != nil {
		fmt.Fprintln(os.Stderr, "integration: removing binaries of earlier runs:", err)
	}
	dir, err := os.MkdirTemp("", fmt.Sprintf("%s%d-", binDirPrefix, os.Getpid()))
	if err != nil {
		fmt.Fprintln(os.Stderr, "integration:", err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

var (
	buildOnce   sync.Once
	buildPath   string
	buildErr    error
	buildLasted time.Duration
)

// glueBinary skips without root, then builds ./cmd/glue-mqtt once per test binary.
func glueBinary(t *testing.T) string {
	t.Helper()
	netlab.Require(t)
	buildOnce.Do(func() {
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		buildPath, buildErr = netlab.Build(ctx, binDir)
		buildLasted = time.Since(start)
	})
	if buildErr != nil {
		t.Fatalf("integration: building glue-mqtt: %v", buildErr)
	}
	return buildPath
}

// meshTiming is the discovery configuration of a scenario.
type meshTiming struct {
	Rate       time.Duration // beacon interval
	Multiplier int           // expiry = Rate x Multiplier
}

func (m meshTiming) Expiry() time.Duration { return m.Rate * time.Duration(m.Multiplier) }

// fastDiscovery keeps the discovery scenarios short; lossyDiscovery makes a spurious expiry under
// 10% beacon loss practically impossible (ten lost beacons in a row: 1e-10), so that lossy
// scenarios measure the transport and not discovery.
var (
	fastDiscovery  = meshTiming{Rate: 500 * time.Millisecond, Multiplier: 4}
	lossyDiscovery = meshTiming{Rate: 500 * time.Millisecond, Multiplier: 10}
)

// envFor returns the environment function of a scenario: the Lab's base environment, the timing,
// and extra variables (for every host).
func envFor(lab *netlab.Lab, timing meshTiming, extra map[string]string) func(*netlab.Host) map[string]string {
	return func(h *netlab.Host) map[string]string {
		env := lab.BaseEnv(h)
		env["GLUE_DISCOVERY_RATE_MILLISECONDS"] = strconv.Itoa(int(timing.Rate / time.Millisecond))
		env["GLUE_DISCOVERY_RATE_TIMEOUT_MULTIPLIER"] = strconv.Itoa(timing.Multiplier)
		for k, v := range extra {
			env[k] = v
		}
		return env
	}
}

// hostCount is -netlab.hosts, at least min.
func hostCount(min int) int {
	if *netlabHosts < min {
		return min
	}
	return *netlabHosts
}

// loadBudget scales a time budget measured for the default load (5 hosts, 10,000 messages) to
// hosts and messages: linearly in the subscriber hosts (the publisher sends each message to every
// one of them) and in the messages (0: not message-bound), never below base.
func loadBudget(base time.Duration, hosts, messages int) time.Duration {
	f := float64(hosts-1) / 4
	if messages > 0 {
		f *= float64(messages) / 10000
	}
	return time.Duration(float64(base) * max(f, 1))
}

// meshJoinTime is how long after the most recently started glue-mqtt of the given hosts (all when
// none are given) the mesh of all hosts became complete, from the processes' own peer events
// (see netlab.Lab.MeshCompletedAt): the figure for discovery times.
func meshJoinTime(t *testing.T, lab *netlab.Lab, hosts ...int) time.Duration {
	t.Helper()
	if len(hosts) == 0 {
		hosts = lab.Indices()
	}
	var last time.Time
	for _, i := range hosts {
		if p := lab.Host(i).Process(); p != nil && p.Started.After(last) {
			last = p.Started
		}
	}
	at, err := lab.MeshCompletedAt()
	if err != nil {
		t.Fatal(err)
	}
	return at.Sub(last)
}

func timeout(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// payload encodes publisher and sequence number: "h1 42".
func payload(publisher string, seq int) []byte {
	return []byte(publisher + " " + strconv.Itoa(seq))
}

func parsePayload(b []byte) (publisher string, seq int, ok bool) {
	p, s, found := strings.Cut(string(b), " ")
	if !found {
		return "", 0, false
	}
	n, err := strconv.Atoi(s)
	return p, n, err == nil
}

// streamStats counts what one subscriber got from one publisher on one topic.
type streamStats struct {
	seen      map[int]int // seq -> times received
	highest   int         // highest sequence so far (-1: none)
	Received  int         // every delivery
	Unique    int         // distinct sequence numbers
	Dups      int         // deliveries of a sequence already received
	Reordered int         // deliveries of a new sequence below the highest so far
}

// tracker records the deliveries of one MQTT subscriber.
type tracker struct {
	name string
	mu   sync.Mutex
	by   map[string]*streamStats // key: topic
	bad  int                     // payloads that did not parse
}

func newTracker(name string) *tracker { return &tracker{name: name, by: map[string]*streamStats{}} }

func (tr *tracker) handler(_ mqtt.Client, m mqtt.Message) {
	_, seq, ok := parsePayload(m.Payload())
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if !ok {
		tr.bad++
		return
	}
	s := tr.by[m.Topic()]
	if s == nil {
		s = &streamStats{seen: map[int]int{}, highest: -1}
		tr.by[m.Topic()] = s
	}
	s.Received++
	s.seen[seq]++
	switch {
	case s.seen[seq] > 1:
		s.Dups++
	case seq < s.highest:
		s.Reordered++
		s.Unique++
	default:
		s.Unique++
	}
	if seq > s.highest {
		s.highest = seq
	}
}

// stream returns a copy of the figures for topic.
func (tr *tracker) stream(topic string) streamStats {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if s := tr.by[topic]; s != nil {
		c := *s
		c.seen = nil
		return c
	}
	return streamStats{highest: -1}
}

// missing lists the sequence numbers in [0,count) never received on topic (at most 10 shown).
func (tr *tracker) missing(topic string, count int) (int, []int) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	s := tr.by[topic]
	var n int
	var first []int
	for i := 0; i < count; i++ {
		if s == nil || s.seen[i] == 0 {
			n++
			if len(first) < 10 {
				first = append(first, i)
			}
		}
	}
	return n, first
}

// waitUnique waits until every tracker has count distinct messages on each topic, or ctx ends.
func waitUnique(ctx context.Context, trackers []*tracker, topics []string, count int) error {
	for {
		done := true
		for _, tr := range trackers {
			for _, topic := range topics {
				if tr.stream(topic).Unique < count {
					done = false
				}
			}
		}
		if done {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("integration: not every subscriber got %d messages on %v: %w", count, topics, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// publishSequence publishes count messages seq 0..count-1 on topic, at most window unacknowledged
// at once, and returns when every one is acknowledged (PUBACK / PUBCOMP) or ctx ends. When acked
// is not nil it counts the acknowledged messages as they come (in publish order).
func publishSequence(ctx context.Context, c mqtt.Client, publisher, topic string, qos byte, count, window int, acked *atomic.Int64) error {
	pending := make([]mqtt.Token, 0, window)
	wait := func(tok mqtt.Token, seq int) error {
		if err := netlab.WaitToken(ctx, tok); err != nil {
			return fmt.Errorf("integration: publish %s seq %d: %w", topic, seq, err)
		}
		if acked != nil {
			acked.Add(1)
		}
		return nil
	}
	for seq := 0; seq < count; seq++ {
		if len(pending) == window {
			if err := wait(pending[0], seq-window); err != nil {
				return err
			}
			pending = pending[1:]
		}
		pending = append(pending, c.Publish(topic, qos, false, payload(publisher, seq)))
	}
	for i, tok := range pending {
		if err := wait(tok, count-len(pending)+i); err != nil {
			return err
		}
	}
	return nil
}

// probeMatrix checks the MQTT path between every pair of hosts: each host's subscriber on
// netlab/probe/# must get one QoS 1 message published on every other host. It returns how long it
// took until every probe had arrived.
func probeMatrix(t *testing.T, ctx context.Context, lab *netlab.Lab, tag string) time.Duration {
	t.Helper()
	var trackers []*tracker
	for _, h := range lab.Hosts {
		tr := newTracker(h.Name)
		c, err := h.ConnectMQTT(ctx, h.MQTTOptions(fmt.Sprintf("%s-probe-sub-%s", h.Name, tag)))
		if err != nil {
			t.Fatal(err)
		}
		if err := netlab.Subscribe(ctx, c, "netlab/probe/"+tag+"/#", 1, tr.handler); err != nil {
			t.Fatal(err)
		}
		trackers = append(trackers, tr)
	}
	start := time.Now()
	var topics []string
	for _, h := range lab.Hosts {
		c, err := h.ConnectMQTT(ctx, h.MQTTOptions(fmt.Sprintf("%s-probe-pub-%s", h.Name, tag)))
		if err != nil {
			t.Fatal(err)
		}
		topic := "netlab/probe/" + tag + "/" + h.Name
		topics = append(topics, topic)
		if err := netlab.WaitToken(ctx, c.Publish(topic, 1, false, payload(h.Name, 0))); err != nil {
			t.Fatalf("integration: probe publish on %s: %v", h.Name, err)
		}
	}
	if err := waitUnique(ctx, trackers, topics, 1); err != nil {
		var missing []string
		for _, tr := range trackers {
			for _, topic := range topics {
				if tr.stream(topic).Unique == 0 {
					missing = append(missing, tr.name+"<-"+topic)
				}
			}
		}
		sort.Strings(missing)
		t.Fatalf("integration: probe matrix %s: %v; missing: %s", tag, err, strings.Join(missing, " "))
	}
	return time.Since(start)
}

// sampleRSS returns the RSS of every glue-mqtt of the Lab, in MiB, indexed by host. A process
// that is not running or whose RSS cannot be read is an error: a soak must not mistake a dead
// process for a small one.
func sampleRSS(lab *netlab.Lab) ([]float64, error) {
	out := make([]float64, len(lab.Hosts))
	for i, h := range lab.Hosts {
		p := h.Process()
		if p == nil || p.Exited() {
			return nil, fmt.Errorf("integration: %s: glue-mqtt not running", h.Name)
		}
		rss, err := p.RSS()
		if err != nil {
			return nil, err
		}
		out[i] = float64(rss) / (1 << 20)
	}
	return out, nil
}

// sampleMetric reads series from every host's /metrics, indexed by host; a host that does not
// answer, or lacks the series, is an error.
func sampleMetric(ctx context.Context, lab *netlab.Lab, series string) ([]float64, error) {
	out := make([]float64, len(lab.Hosts))
	for i, h := range lab.Hosts {
		m, err := h.ScrapeMetrics(ctx)
		if err != nil {
			return nil, err
		}
		v, ok := m.Value(series)
		if !ok {
			return nil, fmt.Errorf("integration: %s: no %s on /metrics", h.Name, series)
		}
		out[i] = v
	}
	return out, nil
}
