package faultnet

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

func TestParseRules(t *testing.T) {
	rules, err := ParseRules(`
# h1's links
169.254.77.2	delay=80ms,jitter=5ms
  169.254.77.0/24    reorder=0.1
fd00::7/64 loss=0.5
*  loss=0.01
169.254.77.3
`)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		any    bool
		prefix string
		im     Impairment
		line   int
	}{
		{false, "169.254.77.2/32", Impairment{Delay: 80 * time.Millisecond, Jitter: 5 * time.Millisecond}, 3},
		{false, "169.254.77.0/24", Impairment{Reorder: 0.1}, 4},
		{false, "fd00::/64", Impairment{Loss: 0.5}, 5},
		{true, "invalid Prefix", Impairment{Loss: 0.01}, 6},
		{false, "169.254.77.3/32", Impairment{}, 7},
	}
	if len(rules) != len(want) {
		t.Fatalf("%d rules, want %d: %+v", len(rules), len(want), rules)
	}
	for i, w := range want {
		r := rules[i]
		if r.Any != w.any || r.Prefix.String() != w.prefix || r.Impairment != w.im || r.Line != w.line {
			t.Errorf("rule %d: %+v, want %+v", i, r, w)
		}
	}
	if rules, err := ParseRules("\n# nothing\n\n"); err != nil || len(rules) != 0 {
		t.Errorf("comments only: %v %v", rules, err)
	}
	for bad, wantErr := range map[string]string{
		"169.254.77.2 wobble=1":                    "line 1",
		"\n\nnot-an-address delay=1ms":             "line 3",
		"10.0.0.0/33 loss=0.1":                     "line 1",
		"::ffff:10.0.0.0/104 dup=1":                "IPv4",
		"* loss=2":                                 "probability",
		strings.Repeat("* loss=0.1\n", maxRules+1): "more than",
	} {
		_, err := ParseRules(bad)
		if err == nil || !strings.Contains(err.Error(), wantErr) || !strings.HasPrefix(err.Error(), "faultnet: ") {
			t.Errorf("ParseRules(%.40q): error %v, want one mentioning %q", bad, err, wantErr)
		}
	}
}

func TestRulesFor(t *testing.T) {
	rules, err := ParseRules(`
* loss=0.01
169.254.77.0/24 reorder=0.1
169.254.77.2 delay=80ms
169.254.77.2/32 delay=1s
169.254.77.3
fd00::/8 dup=0.5
`)
	if err != nil {
		t.Fatal(err)
	}
	for dst, want := range map[string]Impairment{
		"169.254.77.2":        {Delay: 80 * time.Millisecond}, // longest prefix; the first of equals
		"::ffff:169.254.77.2": {Delay: 80 * time.Millisecond}, // IPv4-mapped is IPv4
		"169.254.77.9":        {Reorder: 0.1},
		"169.254.77.3":        {}, // an empty spec exempts a destination
		"10.1.1.1":            {Loss: 0.01},
		"fd12::1":             {Duplicate: 0.5},
		"2001:db8::1":         {Loss: 0.01},
	} {
		got, ok := rules.For(netip.MustParseAddr(dst))
		if !ok || got != want {
			t.Errorf("For(%s) = %+v %v, want %+v", dst, got, ok, want)
		}
	}
	narrow, _ := ParseRules("169.254.77.2 delay=1ms")
	if _, ok := narrow.For(netip.MustParseAddr("169.254.77.4")); ok {
		t.Error("a rule matched a destination outside its prefix")
	}
	if _, ok := Rules(nil).For(netip.MustParseAddr("169.254.77.4")); ok {
		t.Error("no rules matched")
	}
}

// destSink records the arrival times per destination.
type destSink struct {
	mu sync.Mutex
	at map[netip.Addr][]time.Time
}

func (s *destSink) ReadFromUDPAddrPort([]byte) (int, netip.AddrPort, error) { select {} }
func (s *destSink) WriteToUDPAddrPort(b []byte, to netip.AddrPort) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.at == nil {
		s.at = map[netip.Addr][]time.Time{}
	}
	s.at[to.Addr()] = append(s.at[to.Addr()], time.Now())
	return len(b), nil
}
func (s *destSink) Close() error { return nil }

func (s *destSink) take(a netip.Addr) []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	got := s.at[a]
	delete(s.at, a)
	return got
}

var (
	dstA = netip.MustParseAddrPort("169.254.77.2:4000")
	dstB = netip.MustParseAddrPort("169.254.77.3:4000")
)

// sendAndMeasure writes n datagrams to each of dsts at one instant, lets fake time run, and
// returns the largest delay each destination saw (-1: nothing arrived).
func sendAndMeasure(t *testing.T, c *Conn, s *destSink, n int, dsts ...netip.AddrPort) []time.Duration {
	t.Helper()
	start := time.Now()
	for range n {
		for _, d := range dsts {
			c.WriteToUDPAddrPort([]byte("x"), d)
		}
	}
	time.Sleep(time.Second)
	synctest.Wait()
	out := make([]time.Duration, len(dsts))
	for i, d := range dsts {
		out[i] = -1
		for _, at := range s.take(d.Addr()) {
			out[i] = max(out[i], at.Sub(start))
		}
	}
	return out
}

// writeRules replaces the rules file the way a test harness should: a new file renamed over it.
func writeRules(t *testing.T, path, content string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// TestPerDestinationRules: a rule delays one destination only; the base impairment applies where
// no rule matches; changes of the file take effect within one poll interval, a broken version
// leaves the rules in force, and the counts say what was done.
func TestPerDestinationRules(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rules")
	writeRules(t, path, "169.254.77.2 delay=80ms\n")
	synctest.Test(t, func(t *testing.T) {
		s := &destSink{}
		c, err := New(s, Impairment{Delay: 5 * time.Millisecond}, Options{Seed: 3, RulesFile: path})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		got := sendAndMeasure(t, c, s, 10, dstA, dstB)
		if got[0] != 80*time.Millisecond || got[1] != 5*time.Millisecond {
			t.Fatalf("delays A=%v B=%v, want 80ms (rule) and 5ms (base)", got[0], got[1])
		}
		if st := c.Stats(); st.Delayed != 20 || st.Datagrams != 20 || st.RuleLoads != 1 || st.RulesInForce != 1 {
			t.Fatalf("stats %+v", st)
		}

		// Remove the delay on A, add reordering to B. The sending goroutine sees the change at
		// its next poll.
		writeRules(t, path, "169.254.77.2\n169.254.77.3 reorder=1\n")
		time.Sleep(PollInterval)
		synctest.Wait()
		got = sendAndMeasure(t, c, s, 10, dstA, dstB)
		if got[0] != 0 || got[1] != time.Millisecond {
			t.Fatalf("after the change: delays A=%v B=%v, want 0 and 1ms (reorder with no delay)", got[0], got[1])
		}
		st := c.Stats()
		if st.Reordered != 10 || st.RuleLoads != 2 {
			t.Fatalf("stats %+v", st)
		}

		// A broken version is reported and ignored.
		writeRules(t, path, "169.254.77.2 delay=forever\n")
		time.Sleep(2 * PollInterval)
		synctest.Wait()
		got = sendAndMeasure(t, c, s, 1, dstA, dstB)
		if got[0] != 0 || got[1] != time.Millisecond {
			t.Fatalf("after a broken file: delays A=%v B=%v, want the previous rules", got[0], got[1])
		}
		if st := c.Stats(); st.RuleErrors != 1 || st.RuleLoads != 2 {
			t.Fatalf("a broken file counted once, without a load: %+v", st)
		}

		// No file: the base impairment everywhere.
		if err := os.Remove(path); err != nil {
			t.Fatal(err)
		}
		time.Sleep(PollInterval)
		synctest.Wait()
		got = sendAndMeasure(t, c, s, 1, dstA, dstB)
		if got[0] != 5*time.Millisecond || got[1] != 5*time.Millisecond {
			t.Fatalf("without a file: delays A=%v B=%v, want the base 5ms", got[0], got[1])
		}
		if st := c.Stats(); st.RuleLoads != 3 || st.RulesInForce != 0 {
			t.Fatalf("stats %+v", st)
		}
	})
}

// TestRulesFilePollBounded: the file is looked at no more often than PollInterval, however many
// datagrams wake the sending goroutine.
func TestRulesFilePollBounded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rules")
	synctest.Test(t, func(t *testing.T) {
		s := &destSink{}
		c, err := New(s, Impairment{}, Options{RulesFile: path})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		writeRules(t, path, "* delay=1ms\n")
		// Until the next poll the old (empty) rules stay, whatever the traffic.
		for range 50 {
			c.WriteToUDPAddrPort([]byte("x"), dstA)
			time.Sleep(PollInterval / 100)
		}
		synctest.Wait()
		if st := c.Stats(); st.RuleLoads != 1 || st.Delayed != 0 {
			t.Fatalf("rules changed before the poll interval: %+v", st)
		}
		time.Sleep(PollInterval)
		synctest.Wait()
		c.WriteToUDPAddrPort([]byte("x"), dstA)
		if st := c.Stats(); st.RuleLoads != 2 || st.Delayed != 1 {
			t.Fatalf("rules not in force after a poll interval: %+v", st)
		}
	})
}

func TestNewRejectsBrokenRules(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rules")
	writeRules(t, path, "* loss=3\n")
	if c, err := New(&destSink{}, Impairment{}, Options{RulesFile: path}); err == nil {
		c.Close()
		t.Fatal("a broken rules file was accepted at start")
	}
}

func TestDigest(t *testing.T) {
	if Digest([]byte("a")) == Digest([]byte("b")) || len(Digest(nil)) != 16 {
		t.Fatalf("digests %s %s %s", Digest([]byte("a")), Digest([]byte("b")), Digest(nil))
	}
}
