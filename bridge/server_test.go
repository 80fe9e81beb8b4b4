package bridge

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestServerLifecycle(t *testing.T) {
	t.Parallel()
	n := &fakeNet{}
	s, err := New(n.join(1), Config{ListenAddress: "127.0.0.1:0", Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(s.Addr(), "127.0.0.1:") || strings.HasSuffix(s.Addr(), ":0") {
		t.Fatalf("Addr %q, want the bound loopback port", s.Addr())
	}
	// A second server on the same port fails in New, with the package prefix.
	if _, err := New(n.join(2), Config{ListenAddress: s.Addr(), Logger: testLogger(t)}); err == nil || !strings.HasPrefix(err.Error(), "bridge: ") {
		t.Fatalf("New on a busy port: %v", err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err == nil {
		t.Fatal("second Start succeeded")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil { // mochi's Close panics the second time; ours must not
		t.Fatal(err)
	}
	if err := s.Start(); err == nil {
		t.Fatal("Start after Close succeeded")
	}
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []Config{
		{ListenAddress: "localhost"},
		{MaxPacketSize: 10},
		{PublishTimeout: -1},
		{DedupeSize: -1},
	} {
		if err := c.Validate(); err == nil || !strings.HasPrefix(err.Error(), "bridge: ") {
			t.Errorf("Validate(%+v) = %v, want a bridge: error", c, err)
		}
	}
	if err := (Config{}).Validate(); err != nil {
		t.Errorf("defaults invalid: %v", err)
	}
	if _, err := New(nil, Config{}); err == nil {
		t.Error("New with a nil mesh succeeded")
	}
}

// Close must not hang while clients come and go: mochi v2.7.9's own closer reads the client
// table with a nested read lock, which deadlocks when a client is being added or removed between
// the two. A goroutine churns the table during every Close to make that moment likely.
func TestCloseWhileClientsChurn(t *testing.T) {
	t.Parallel()
	for round := range 30 {
		n := &fakeNet{}
		m := n.join(1)
		s, err := New(m, Config{ListenAddress: "127.0.0.1:0", Logger: testLogger(t)})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Start(); err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			c := newV3(v3Options(s.Addr(), fmt.Sprintf("churn-%d", i)))
			if tok := c.Connect(); !tok.WaitTimeout(waitFor) || tok.Error() != nil {
				t.Fatalf("connect: %v", tok.Error())
			}
			defer c.Disconnect(0)
		}
		stop := make(chan struct{})
		churned := make(chan struct{})
		go func() {
			defer close(churned)
			ghost := s.mqtt.NewClient(nil, "churn", "churn-ghost", false) // not on the TCP listener: never disconnected
			for {
				select {
				case <-stop:
					return
				default:
				}
				s.mqtt.Clients.Add(ghost)
				s.mqtt.Clients.Delete(ghost.ID)
			}
		}()
		closed := make(chan struct{})
		go func() { _ = s.Close(); close(closed) }()
		select {
		case <-closed:
		case <-time.After(waitFor):
			t.Fatalf("round %d: Close hangs while clients come and go", round)
		}
		close(stop)
		<-churned
	}
}
