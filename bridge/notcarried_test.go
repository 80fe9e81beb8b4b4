package bridge

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	pahopackets "github.com/eclipse/paho.golang/packets"
	"github.com/eclipse/paho.golang/paho"

	"github.com/glue-mqtt/glue-mqtt/mesh"
)

// wireAck is a PUBACK or PUBREC as it arrived on the wire.
type wireAck struct {
	typ    byte
	code   byte
	reason string
}

// wireAcks decodes the PUBACKs and PUBRECs a sniffed client received, in order.
func wireAcks(sc *sniffConn) []wireAck {
	var out []wireAck
	r := bytes.NewReader(sc.bytes())
	for {
		cp, err := pahopackets.ReadPacket(r)
		if err != nil {
			return out
		}
		switch pk := cp.Content.(type) {
		case *pahopackets.Puback:
			out = append(out, wireAck{cp.Type, pk.ReasonCode, pk.Properties.ReasonString})
		case *pahopackets.Pubrec:
			out = append(out, wireAck{cp.Type, pk.ReasonCode, pk.Properties.ReasonString})
		}
	}
}

// When the mesh does not take a publish, an MQTT 5 QoS 1 or 2 publisher gets a failure reason
// code in the PUBACK or PUBREC and the message goes nowhere; an MQTT 3.1.1 publisher, and any
// QoS 0 publisher, is answered as usual and the message reaches this host's subscribers only.
// Every case is counted and logged.
func TestMeshSendFailureAnswers(t *testing.T) {
	t.Parallel()
	log, logs := capturingLogger(t)
	n := &fakeNet{}
	a := startHost(t, n, 1, Config{PublishTimeout: 50 * time.Millisecond, Logger: log})
	b := startHost(t, n, 2, Config{})
	// busy/...: Send waits for back-pressure until its deadline; broken/...: Send fails at once.
	a.mesh.failSends(func(ctx context.Context, out mesh.Outgoing) error {
		switch {
		case strings.HasPrefix(out.Topic, "busy/"):
			<-ctx.Done()
			return fmt.Errorf("fake mesh: send buffers full: %w", ctx.Err())
		case strings.HasPrefix(out.Topic, "broken/"):
			return errors.New("fake mesh: broken")
		}
		return nil
	})
	local, remote := newReceived(), newReceived()
	lsub, _ := v5Client(t, a.srv.Addr(), "local-sub", local)
	v5Subscribe(t, lsub, "#", 2)
	rsub, _ := v5Client(t, b.srv.Addr(), "remote-sub", remote)
	v5Subscribe(t, rsub, "#", 2)

	pub5, wire := v5Client(t, a.srv.Addr(), "pub5", nil)
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	v5 := []struct {
		topic    string
		qos      byte
		wantType byte
		wantCode byte
	}{
		{"busy/q1", 1, pahopackets.PUBACK, 0x97},   // Quota exceeded: the mesh was too busy in time
		{"broken/q1", 1, pahopackets.PUBACK, 0x80}, // Unspecified error
		{"busy/q2", 2, pahopackets.PUBREC, 0x97},   // a PUBREC, not mochi's PUBACK, for QoS 2
		{"broken/q2", 2, pahopackets.PUBREC, 0x80},
		{"fine/q1", 1, pahopackets.PUBACK, 0x00}, // and the client carries on normally
		{"fine/q2", 2, pahopackets.PUBREC, 0x00},
	}
	for _, c := range v5 {
		// paho reports a failure code as an error (PUBACK) or in the response (PUBREC); the
		// packets on the wire are checked below.
		_, err := pub5.Publish(ctx, &paho.Publish{Topic: c.topic, QoS: c.qos, Payload: []byte(c.topic)})
		if c.wantCode == 0 && err != nil {
			t.Fatalf("v5 %s: %v", c.topic, err)
		}
	}
	// QoS 0 over MQTT 5, and every QoS over 3.1.1: no failure ack exists, so they are delivered
	// locally; a marker on a working topic shows everything before it was handled.
	for _, topic := range []string{"busy/q0", "broken/q0"} {
		if _, err := pub5.Publish(ctx, &paho.Publish{Topic: topic, QoS: 0, Payload: []byte(topic)}); err != nil {
			t.Fatalf("v5 %s: %v", topic, err)
		}
	}
	// Acknowledged after the QoS 0 ones above (one connection is handled in order).
	if _, err := pub5.Publish(ctx, &paho.Publish{Topic: "fine/after-q0", QoS: 1, Payload: []byte("x")}); err != nil {
		t.Fatalf("v5 fine/after-q0: %v", err)
	}
	pub3 := v3Client(t, a.srv.Addr(), "pub3", true)
	for _, c := range []struct {
		topic string
		qos   byte
	}{{"busy/v3q1", 1}, {"broken/v3q1", 1}, {"broken/v3q2", 2}, {"broken/v3q0", 0}} {
		v3Publish(t, pub3, c.topic, c.qos, c.topic) // acknowledged (the QoS 0 one: written)
	}
	v3Publish(t, pub3, "fine/end", 1, "end")
	local.waitTopic(t, "fine/end")
	remote.waitTopic(t, "fine/end")

	local.waitTopic(t, "fine/after-q0")
	acks := wireAcks(wire)
	if len(acks) != len(v5)+1 {
		t.Fatalf("v5 publisher got %d acks %+v, want %d", len(acks), acks, len(v5)+1)
	}
	for i, c := range v5 {
		if got := acks[i]; got.typ != c.wantType || got.code != c.wantCode {
			t.Errorf("v5 %s QoS %d: ack type %d 0x%02x, want type %d 0x%02x", c.topic, c.qos,
				got.typ, got.code, c.wantType, c.wantCode)
		} else if c.wantCode >= 0x80 && !strings.Contains(got.reason, "mesh") {
			t.Errorf("v5 %s: reason string %q does not say why", c.topic, got.reason)
		}
	}
	for _, topic := range []string{"busy/q1", "broken/q1", "busy/q2", "broken/q2"} {
		if local.count(topic) != 0 {
			t.Errorf("refused %s was delivered locally", topic)
		}
	}
	for _, topic := range []string{"busy/q0", "broken/q0", "busy/v3q1", "broken/v3q1", "broken/v3q2", "broken/v3q0"} {
		if local.count(topic) != 1 {
			t.Errorf("local-only %s delivered %d times on its own host, want 1", topic, local.count(topic))
		}
	}
	for _, m := range remote.snapshot() {
		if !strings.HasPrefix(m.topic, "fine/") {
			t.Errorf("%s reached the other host although the mesh refused it", m.topic)
		}
	}
	st := a.srv.Stats()
	if st.Refused[ReasonMeshSend] != 4 || st.LocalOnly[ReasonMeshSend] != 6 {
		t.Errorf("stats refused %v local-only %v, want 4 and 6 for %s", st.Refused, st.LocalOnly, ReasonMeshSend)
	}
	if n := logs.count("level=WARN", "refused a publish the mesh could not carry"); n != 4 {
		t.Errorf("%d warnings for refused publishes, want 4", n)
	}
	if n := logs.count("level=WARN", "delivered on this host only", "client=pub3"); n != 4 {
		t.Errorf("%d warnings for pub3's local-only publishes, want 4", n)
	}
}

// A publish whose properties the envelope cannot carry (over 1024 user properties, or a response
// topic with a wildcard) is refused to an MQTT 5 QoS 1 publisher with 0x83 and kept local for
// QoS 0, counted under "envelope".
func TestEnvelopeLimitAnswers(t *testing.T) {
	t.Parallel()
	a, b, _ := twoHosts(t, Config{})
	local, remote := newReceived(), newReceived()
	v5Subscribe(t, must(v5Client(t, a.srv.Addr(), "local-sub", local)), "env/#", 1)
	v5Subscribe(t, must(v5Client(t, b.srv.Addr(), "remote-sub", remote)), "env/#", 1)
	pub, wire := v5Client(t, a.srv.Addr(), "pub5", nil)
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	many := make(paho.UserProperties, 1025)
	for i := range many {
		many[i] = paho.UserProperty{Key: "k", Value: fmt.Sprint(i)}
	}
	tooMany := &paho.PublishProperties{User: many}
	wildcard := &paho.PublishProperties{ResponseTopic: "reply/+"}
	for _, p := range []*paho.Publish{
		{Topic: "env/many/q1", QoS: 1, Properties: tooMany},
		{Topic: "env/wild/q1", QoS: 1, Properties: wildcard},
		{Topic: "env/many/q0", QoS: 0, Properties: tooMany},
		{Topic: "env/end", QoS: 1},
	} {
		p.Payload = []byte(p.Topic)
		_, _ = pub.Publish(ctx, p)
	}
	local.waitTopic(t, "env/end")
	remote.waitTopic(t, "env/end")
	acks := wireAcks(wire)
	if len(acks) != 3 || acks[0].code != 0x83 || acks[1].code != 0x83 || acks[2].code != 0 {
		t.Errorf("acks %+v, want 0x83, 0x83, 0x00", acks)
	}
	if local.count("env/many/q1") != 0 || local.count("env/wild/q1") != 0 || local.count("env/many/q0") != 1 {
		t.Errorf("local deliveries %+v: want only the QoS 0 one of the refused", local.snapshot())
	}
	if remote.count("env/many/q0") != 0 {
		t.Error("a publish the envelope cannot carry reached the other host")
	}
	st := a.srv.Stats()
	if st.Refused[ReasonEnvelope] != 2 || st.LocalOnly[ReasonEnvelope] != 1 {
		t.Errorf("stats refused %v local-only %v, want 2 and 1 for %s", st.Refused, st.LocalOnly, ReasonEnvelope)
	}
}

func must(c *paho.Client, _ *sniffConn) *paho.Client { return c }

// Close does not wait for a publish stuck in back-pressure: the Send is cancelled, and the publish
// is not acknowledged (the client's session would resend it).
func TestCloseCancelsPendingSend(t *testing.T) {
	t.Parallel()
	n := &fakeNet{}
	a := startHost(t, n, 1, Config{PublishTimeout: time.Hour})
	entered := make(chan struct{})
	a.mesh.failSends(func(ctx context.Context, out mesh.Outgoing) error {
		close(entered)
		<-ctx.Done()
		return ctx.Err()
	})
	pub, wire := v5Client(t, a.srv.Addr(), "pub5", nil)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		_, _ = pub.Publish(ctx, &paho.Publish{Topic: "stuck/x", QoS: 1, Payload: []byte("x")})
	}()
	select {
	case <-entered:
	case <-time.After(waitFor):
		t.Fatal("the publish never reached the mesh")
	}
	closed := make(chan struct{})
	start := time.Now()
	go func() { _ = a.srv.Close(); close(closed) }()
	select {
	case <-closed:
		t.Logf("Close returned %v after the publish blocked", time.Since(start).Round(time.Millisecond))
	case <-time.After(waitFor):
		t.Fatal("Close waits for a publish stuck in the mesh's back-pressure")
	}
	<-pub.Done()
	if acks := wireAcks(wire); len(acks) != 0 {
		t.Errorf("a publish the mesh never took was acknowledged: %+v", acks)
	}
	if st := a.srv.Stats(); st.Refused[ReasonMeshSend]+st.LocalOnly[ReasonMeshSend] != 0 {
		t.Errorf("a publish cut short by Close was counted as a mesh failure: %+v", st)
	}
}
