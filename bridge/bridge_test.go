package bridge

import (
	"context"
	"io"
	"slices"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/glue-mqtt/glue-mqtt/mesh"
)

// A 3.1.1 subscriber on A receives what a client on B publishes: exact topics, + and #, with the
// delivered QoS the lower of published and granted.
func TestV3AcrossHostsTopicsAndQoS(t *testing.T) {
	t.Parallel()
	a, b, _ := twoHosts(t, Config{})
	got := newReceived()
	sub := v3Client(t, a.srv.Addr(), "sub", true)
	v3Subscribe(t, sub, "exact/topic", 0, got)
	v3Subscribe(t, sub, "sensors/+/temp", 1, got)
	v3Subscribe(t, sub, "all/#", 2, got)
	pub := v3Client(t, b.srv.Addr(), "pub", true)

	cases := []struct {
		topic           string
		pubQoS, wantQoS byte
	}{
		{"exact/topic", 2, 0},
		{"sensors/kitchen/temp", 2, 1},
		{"sensors/hall/temp", 0, 0},
		{"all/a/b", 2, 2},
		{"all/x", 1, 1},
		{"all", 1, 1}, // '#' matches the parent level
	}
	for _, c := range cases {
		v3Publish(t, pub, c.topic, c.pubQoS, "payload of "+c.topic)
	}
	for _, c := range cases {
		m := got.waitTopic(t, c.topic)
		if m.payload != "payload of "+c.topic || m.qos != c.wantQoS {
			t.Errorf("%s: got payload %q QoS %d, want QoS %d", c.topic, m.payload, m.qos, c.wantQoS)
		}
	}
	if got.count("sensors/kitchen/hum") != 0 {
		t.Error("a topic no filter matches was delivered")
	}
}

// Overlapping filters make the mesh hand the bridge one message twice; the client must get it
// once (QoS 2 exactly once). (paho.golang: one callback per PUBLISH received; paho.mqtt.golang
// would call one handler per matching filter itself.)
func TestNoDuplicatesWithOverlappingFilters(t *testing.T) {
	t.Parallel()
	a, b, _ := twoHosts(t, Config{})
	got := newReceived()
	sub, _ := v5Client(t, a.srv.Addr(), "sub", got)
	v5Subscribe(t, sub, "dup/#", 2)
	v5Subscribe(t, sub, "dup/+", 2)
	if !a.mesh.subscribed()["dup/#"] || !a.mesh.subscribed()["dup/+"] {
		t.Fatalf("mesh subscriptions %v, want dup/# and dup/+", a.mesh.subscribed())
	}
	pub := v3Client(t, b.srv.Addr(), "pub", true)
	v3Publish(t, pub, "dup/x", 2, "once")
	v3Publish(t, pub, "dup/end", 1, "marker") // same publisher, delivered in order after dup/x
	got.waitTopic(t, "dup/end")
	if n := got.count("dup/x"); n != 1 {
		t.Fatalf("dup/x delivered %d times, want 1", n)
	}
}

// MQTT 5 properties cross the mesh intact; the message expiry is counted down by the time the
// message spent in transit.
func TestV5PropertiesAcrossHosts(t *testing.T) {
	t.Parallel()
	a, b, n := twoHosts(t, Config{})
	n.setTransit(10 * time.Second)
	got := newReceived()
	sub, _ := v5Client(t, a.srv.Addr(), "sub5", got)
	v5Subscribe(t, sub, "props/#", 2)
	pub, _ := v5Client(t, b.srv.Addr(), "pub5", nil)

	format, expiry := byte(1), uint32(60)
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	_, err := pub.Publish(ctx, &paho.Publish{
		Topic: "props/x", QoS: 1, Payload: []byte(`{"t":21}`),
		Properties: &paho.PublishProperties{
			ContentType: "application/json", ResponseTopic: "reply/here", CorrelationData: []byte{1, 2, 3},
			PayloadFormat: &format, MessageExpiry: &expiry,
			User: paho.UserProperties{{Key: "k", Value: "v1"}, {Key: "k", Value: "v2"}, {Key: "unit", Value: "°C"}},
		},
	})
	if err != nil {
		t.Fatalf("publish: %v", err)
	}
	// Without an expiry the subscriber must see no expiry at all.
	if _, err := pub.Publish(ctx, &paho.Publish{Topic: "props/noexpiry", QoS: 1, Payload: []byte("x")}); err != nil {
		t.Fatalf("publish: %v", err)
	}
	m := got.waitTopic(t, "props/x")
	p := m.props
	if m.qos != 1 || m.payload != `{"t":21}` || p == nil {
		t.Fatalf("got %+v", m)
	}
	if p.ContentType != "application/json" || p.ResponseTopic != "reply/here" || string(p.CorrelationData) != "\x01\x02\x03" {
		t.Errorf("properties %+v", p)
	}
	if p.PayloadFormat == nil || *p.PayloadFormat != 1 {
		t.Errorf("payload format %v, want 1", p.PayloadFormat)
	}
	wantUser := paho.UserProperties{{Key: "k", Value: "v1"}, {Key: "k", Value: "v2"}, {Key: "unit", Value: "°C"}}
	if !slices.Equal(p.User, wantUser) {
		t.Errorf("user properties %v, want %v", p.User, wantUser)
	}
	if p.MessageExpiry == nil || *p.MessageExpiry > 50 || *p.MessageExpiry < 45 {
		t.Errorf("message expiry %v, want 60 s minus 10 s in transit", p.MessageExpiry)
	}
	if q := got.waitTopic(t, "props/noexpiry"); q.props != nil && q.props.MessageExpiry != nil {
		t.Errorf("message without expiry delivered with expiry %d", *q.props.MessageExpiry)
	}
}

// A message whose lifetime ran out in transit is not delivered.
func TestExpiredInTransitDropped(t *testing.T) {
	t.Parallel()
	a, b, n := twoHosts(t, Config{})
	n.setTransit(time.Minute)
	got := newReceived()
	sub, _ := v5Client(t, a.srv.Addr(), "sub5", got)
	v5Subscribe(t, sub, "exp/#", 1)
	pub, _ := v5Client(t, b.srv.Addr(), "pub5", nil)
	expiry := uint32(5)
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	if _, err := pub.Publish(ctx, &paho.Publish{Topic: "exp/old", QoS: 1, Payload: []byte("x"), Properties: &paho.PublishProperties{MessageExpiry: &expiry}}); err != nil {
		t.Fatal(err)
	}
	if _, err := pub.Publish(ctx, &paho.Publish{Topic: "exp/end", QoS: 1, Payload: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	got.waitTopic(t, "exp/end")
	if got.count("exp/old") != 0 {
		t.Error("a message expired in transit was delivered")
	}
}

// Messages injected from the mesh are delivered locally but never sent back into the mesh.
func TestNoEchoIntoMesh(t *testing.T) {
	t.Parallel()
	a, b, _ := twoHosts(t, Config{})
	got := newReceived()
	// Subscribers on both hosts: if A forwarded the injected message, B's subscriber would see
	// it twice and B's mesh would receive it.
	v3Subscribe(t, v3Client(t, a.srv.Addr(), "subA", true), "echo/#", 1, got)
	gotB := newReceived()
	v3Subscribe(t, v3Client(t, b.srv.Addr(), "subB", true), "echo/#", 1, gotB)
	pub := v3Client(t, b.srv.Addr(), "pub", true)
	v3Publish(t, pub, "echo/1", 1, "x")
	v3Publish(t, pub, "echo/end", 1, "x")
	got.waitTopic(t, "echo/end")
	gotB.waitTopic(t, "echo/end")
	if s := a.mesh.sentTopics(); len(s) != 0 {
		t.Errorf("host A sent %v into the mesh, want nothing", s)
	}
	if s := b.mesh.sentTopics(); !slices.Equal(s, []string{"echo/1", "echo/end"}) {
		t.Errorf("host B sent %v, want [echo/1 echo/end]", s)
	}
	if n := gotB.count("echo/1"); n != 1 {
		t.Errorf("local subscriber on B got echo/1 %d times, want 1", n)
	}
}

// $SYS topics and filters never reach the mesh.
func TestSysStaysLocal(t *testing.T) {
	t.Parallel()
	a, _, _ := twoHosts(t, Config{})
	sub := v3Client(t, a.srv.Addr(), "sys", true)
	v3Subscribe(t, sub, "$SYS/#", 0, newReceived())
	if f := a.mesh.subscribed(); len(f) != 0 {
		t.Errorf("$SYS subscription reached the mesh: %v", f)
	}
	// mochi refuses client publishes on $SYS before the hooks; the hook must refuse them too,
	// for any path that gets there (an embedder's inline client, a future mochi).
	cl := a.srv.mqtt.NewClient(nil, "tcp", "direct", false)
	for _, topic := range []string{"$SYS/broker/uptime", "$SYS"} {
		pk := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: 1}, TopicName: topic, PacketID: 7}
		if _, err := a.srv.hook.OnPublish(cl, pk); err != nil {
			t.Errorf("OnPublish(%s): %v", topic, err)
		}
	}
	if s := a.mesh.sentTopics(); len(s) != 0 {
		t.Errorf("$SYS publish sent into the mesh: %v", s)
	}
}

// Messages of native Go endpoints (no MQTT envelope) reach MQTT subscribers with their raw
// payload: reliable ones as QoS 1, best-effort ones as QoS 0.
func TestNativeMeshMessages(t *testing.T) {
	t.Parallel()
	n := &fakeNet{}
	a := startHost(t, n, 1, Config{})
	native := n.join(9)
	got := newReceived()
	v3Subscribe(t, v3Client(t, a.srv.Addr(), "sub", true), "native/#", 2, got)
	ctx := context.Background()
	if err := native.Send(ctx, mesh.Outgoing{Topic: "native/reliable", Type: "text", Payload: []byte("r")}); err != nil {
		t.Fatal(err)
	}
	if err := native.Send(ctx, mesh.Outgoing{Topic: "native/besteffort", Type: "text", Payload: []byte("b"), BestEffort: true}); err != nil {
		t.Fatal(err)
	}
	if m := got.waitTopic(t, "native/reliable"); m.qos != 1 || m.payload != "r" {
		t.Errorf("reliable native message: %+v, want QoS 1 payload r", m)
	}
	if m := got.waitTopic(t, "native/besteffort"); m.qos != 0 || m.payload != "b" {
		t.Errorf("best-effort native message: %+v, want QoS 0 payload b", m)
	}
}

// A network client may not take the inline client's ID.
func TestReservedClientIDRefused(t *testing.T) {
	t.Parallel()
	a, _, _ := twoHosts(t, Config{})
	requireClientIDRefused(t, a.srv.Addr(), InlineClientID)
	// The bridge still injects: nothing was taken over.
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	got := newReceived()
	v3Subscribe(t, v3Client(t, a.srv.Addr(), "sub", true), "after/#", 1, got)
	if err := a.mesh.net.members[1].Send(ctx, mesh.Outgoing{Topic: "after/x", Type: "text", Payload: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	got.waitTopic(t, "after/x")
}

// requireClientIDRefused checks that neither an MQTT 5 client (CONNACK 0x85 Client Identifier not
// valid) nor an MQTT 3.1.1 one can connect with a reserved client ID.
func requireClientIDRefused(t *testing.T, addr, id string) {
	t.Helper()
	conn, err := dialTCP(addr)
	if err != nil {
		t.Fatal(err)
	}
	c := paho.NewClient(paho.ClientConfig{Conn: conn})
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	ca, err := c.Connect(ctx, &paho.Connect{ClientID: id, CleanStart: true})
	if err == nil || ca == nil || ca.ReasonCode != packets.ErrClientIdentifierNotValid.Code {
		t.Fatalf("connect as %q: connack %+v, %v; want reason code 0x85", id, ca, err)
	}
	if tok := newV3(v3Options(addr, id)).Connect(); tok.WaitTimeout(waitFor) && tok.Error() == nil {
		t.Fatalf("v3 connect as %q succeeded", id)
	}
}

// isInline must recognise the bridge's client and not network ones.
func TestInlineClientRecognised(t *testing.T) {
	t.Parallel()
	a, _, _ := twoHosts(t, Config{})
	if !isInline(a.srv.hook.inline) || a.srv.hook.inline.Properties.ProtocolVersion != 5 {
		t.Fatal("the bridge's inline client is not an MQTT 5 inline client")
	}
	if isInline(a.srv.mqtt.NewClient(nil, "tcp", "x", false)) {
		t.Fatal("a network client was taken for an inline one")
	}
	var _ mqtt.Hook = a.srv.hook
}

// A client's will, published by mochi when the client vanishes without DISCONNECT, crosses the
// mesh like any publish (mochi publishes wills without OnPublish).
func TestWillCrossesMesh(t *testing.T) {
	t.Parallel()
	a, b, _ := twoHosts(t, Config{})
	local, remote := newReceived(), newReceived()
	v3Subscribe(t, v3Client(t, a.srv.Addr(), "local-sub", true), "will/#", 1, local)
	v3Subscribe(t, v3Client(t, b.srv.Addr(), "remote-sub", true), "will/#", 1, remote)
	conn, err := dialTCP(a.srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	// MQTT 3.1.1 CONNECT: clean session, will flag, will QoS 1; client "dying", will on will/dying.
	body := []byte{0, 4, 'M', 'Q', 'T', 'T', 4, 0x02 | 0x04 | 0x08, 0, 60}
	for _, f := range []string{"dying", "will/dying", "gone"} {
		body = append(append(body, 0, byte(len(f))), f...)
	}
	if _, err := conn.Write(append([]byte{0x10, byte(len(body))}, body...)); err != nil {
		t.Fatal(err)
	}
	ack := make([]byte, 4)
	_ = conn.SetReadDeadline(time.Now().Add(waitFor))
	if _, err := io.ReadFull(conn, ack); err != nil || ack[0] != 0x20 || ack[3] != 0 {
		t.Fatalf("CONNACK % x, %v", ack, err)
	}
	conn.Close() // no DISCONNECT: the will fires
	if m := remote.waitTopic(t, "will/dying"); m.payload != "gone" || m.qos != 1 {
		t.Errorf("will on the other host: %+v", m)
	}
	local.waitTopic(t, "will/dying")
	if got := a.mesh.sentTopics(); !slices.Equal(got, []string{"will/dying"}) {
		t.Errorf("host A sent %v into the mesh, want the will once", got)
	}
}
