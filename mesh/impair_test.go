package mesh

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/glue-mqtt/glue-mqtt/mesh/memnet"
)

// TestTestImpairmentFile: GLUE_TEST_IMPAIR_FILE wires a per-destination rules file into the data
// socket, its counts are readable from the endpoint, and a broken file fails Start.
func TestTestImpairmentFile(t *testing.T) {
	dir := t.TempDir()
	rules := filepath.Join(dir, "rules")
	if err := os.WriteFile(rules, []byte("10.0.0.2 delay=3ms\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := ConfigFromEnv(DefaultConfig(), func(k string) string {
		if k == EnvTestImpairFile {
			return rules
		}
		return ""
	})
	if err != nil || cfg.TestImpairmentFile != rules {
		t.Fatalf("ConfigFromEnv: %q %v", cfg.TestImpairmentFile, err)
	}
	synctest.Test(t, func(t *testing.T) {
		n := memnet.New(1)
		ca := memConfig(n, 1)
		ca.TestImpairmentFile = rules
		a := startEndpoint(t, ca)
		b := startEndpoint(t, memConfig(n, 2))
		if _, ok := b.TestImpairmentStats(); ok {
			t.Fatal("an endpoint without impairment reports impairment stats")
		}
		var got collector
		must(t, b.Subscribe("t", "", got.handle))
		waitFor(t, "discovery", 5*time.Second, func() bool { return peersOf(a) == 1 && peersOf(b) == 1 })
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		must(t, b.SyncInterest(ctx))
		must(t, a.Publish("t", "", 1, []byte("x")))
		waitFor(t, "delivery", 5*time.Second, func() bool { return got.len() == 1 })
		st, ok := a.TestImpairmentStats()
		if !ok || st.Delayed == 0 || st.RulesInForce != 1 || st.RuleLoads != 1 {
			t.Fatalf("impairment stats %+v %v: want datagrams to 10.0.0.2 delayed by the rule", st, ok)
		}
	})

	broken := filepath.Join(dir, "broken")
	if err := os.WriteFile(broken, []byte("10.0.0.2 delay=soon\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cb := memConfig(memnet.New(2), 1)
	cb.TestImpairmentFile = broken
	e, err := New(cb)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Stop()
	if err := e.Start(); err == nil || !strings.HasPrefix(err.Error(), "mesh: test impairment: ") {
		t.Fatalf("Start with a broken rules file: %v", err)
	}
}
