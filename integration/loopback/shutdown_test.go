package loopback

import (
	"context"
	"fmt"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// TestShutdownWithMessagesInFlight: instance A gets SIGTERM (or SIGINT) while an MQTT 5 and an
// MQTT 3.1.1 client on it publish QoS 1 messages to a subscriber on B as fast as they are
// acknowledged. A must exit with status 0 within glue-mqtt's bound (5 s), both clients must see
// the connection end (the MQTT 5 one with a DISCONNECT 0x8B Server shutting down), and B's
// subscriber must have every message A acknowledged: an acknowledgement means the mesh took the
// message, and the mesh flushes it before the process exits.
func TestShutdownWithMessagesInFlight(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) { testShutdown(t, sig) })
	}
}

// ackedSet records the payloads a publisher got an acknowledgement for.
type ackedSet struct {
	mu sync.Mutex
	m  map[string]bool
}

func (s *ackedSet) add(p string) {
	s.mu.Lock()
	s.m[p] = true
	s.mu.Unlock()
}

func (s *ackedSet) snapshot() map[string]bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]bool, len(s.m))
	for k := range s.m {
		out[k] = true
	}
	return out
}

func testShutdown(t *testing.T, sig os.Signal) {
	n := newNetwork(t)
	a := n.start("A")
	b := n.start("B")
	n.waitMesh()
	topic := uniqueTopic("shutdown")
	sub := connectV5(t, b, "shutdown-sub")
	sub.subscribe(t, topic, 1)

	pub5 := connectV5(t, a, "shutdown-pub5")
	v3lost := make(chan error, 1)
	pub3 := mqtt.NewClient(mqtt.NewClientOptions().AddBroker("tcp://" + a.addr).SetClientID("shutdown-pub3").
		SetCleanSession(true).SetAutoReconnect(false).SetConnectTimeout(5 * time.Second).
		SetConnectionLostHandler(func(_ mqtt.Client, err error) { v3lost <- err }))
	if tok := pub3.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("v3 publisher: connect: %v", tok.Error())
	}

	acked := &ackedSet{m: map[string]bool{}}
	const maxPerPublisher = 100_000 // bounds the loops; the signal ends them long before
	var wg sync.WaitGroup
	// Two MQTT 5 publishers on one connection (two QoS 1 publishes in flight at a time) and one
	// MQTT 3.1.1 connection, each publishing the next message as soon as the last is acknowledged.
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range maxPerPublisher {
				p := fmt.Sprintf("v5-%d-%d", w, i)
				// A publish cut off by the shutdown may never be answered: give up on it soon.
				ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
				resp, err := pub5.c.Publish(ctx, &paho.Publish{Topic: topic, QoS: 1, Payload: []byte(p)})
				cancel()
				if err != nil || resp == nil || resp.ReasonCode >= 0x80 {
					return // the connection ended (or the broker refused): stop publishing
				}
				acked.add(p)
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range maxPerPublisher {
			p := fmt.Sprintf("v3-%d", i)
			tok := pub3.Publish(topic, 1, false, p)
			if !tok.WaitTimeout(3*time.Second) || tok.Error() != nil {
				return
			}
			acked.add(p)
		}
	}()

	// Let traffic flow, then stop A in the middle of it.
	sub.in.waitCount(t, 300, deliveryDeadline)
	took, code := a.signalAndWait(t, sig, shutdownBound+2*time.Second)
	t.Logf("%v: glue-mqtt A exited with status %d %v after the signal; %d messages acknowledged by then",
		sig, code, took.Round(time.Millisecond), len(acked.snapshot()))
	if code != 0 {
		t.Errorf("exit status %d after %v, want 0 (a clean stop)", code, sig)
	}
	if took > shutdownBound {
		t.Errorf("exit took %v after %v, over glue-mqtt's bound of %v", took, sig, shutdownBound)
	}

	// Both publishers saw their connection end.
	select {
	case <-pub5.c.Done():
	case <-time.After(deliveryDeadline):
		t.Error("the MQTT 5 publisher's connection is still open")
	}
	deadline := time.Now().Add(deliveryDeadline)
	for pub5.serverDisconnect() == nil && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond) // OnServerDisconnect runs on a goroutine of its own
	}
	if d := pub5.serverDisconnect(); d == nil || d.ReasonCode != 0x8b {
		t.Errorf("MQTT 5 publisher: server DISCONNECT %+v, want reason 0x8B Server shutting down", d)
	}
	select {
	case err := <-v3lost:
		t.Logf("MQTT 3.1.1 publisher: connection lost (%v)", err)
	case <-time.After(deliveryDeadline):
		t.Error("the MQTT 3.1.1 publisher did not see its connection end")
	}
	wg.Wait()

	// Every acknowledged message reached B.
	want := acked.snapshot()
	if len(want) == 0 {
		t.Fatal("nothing was acknowledged")
	}
	var missing []string
	deadline = time.Now().Add(deliveryDeadline)
	for {
		got := map[string]bool{}
		for _, m := range sub.in.all() {
			got[m.Payload] = true
		}
		missing = missing[:0]
		for p := range want {
			if !got[p] {
				missing = append(missing, p)
			}
		}
		if len(missing) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(missing) > 0 {
		t.Errorf("%d of %d acknowledged messages never reached B, for example %v", len(missing), len(want), missing[:min(5, len(missing))])
	} else {
		t.Logf("all %d acknowledged messages reached B (%d deliveries in all)", len(want), len(sub.in.all()))
	}
	pub3.Disconnect(0)
}
