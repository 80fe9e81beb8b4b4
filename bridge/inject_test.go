package bridge

import (
	"testing"
	"time"

	"github.com/glue-mqtt/glue-mqtt/mapping"
	"github.com/glue-mqtt/glue-mqtt/mesh"
)

// Everything in a mesh message comes from the network. A message with a topic MQTT cannot carry,
// an envelope that does not decode, or a property value MQTT forbids is dropped whole, counted by
// reason and logged at warning level once per reason; the local subscribers get only valid
// messages.
func TestInvalidMeshMessagesDropped(t *testing.T) {
	t.Parallel()
	log, logs := capturingLogger(t)
	a := startHost(t, &fakeNet{}, 1, Config{Logger: log})
	got := newReceived()
	sub, _ := v5Client(t, a.srv.Addr(), "sub5", got)
	v5Subscribe(t, sub, "#", 2)
	v5Subscribe(t, sub, "$SYS/glue/#", 2) // so that a $SYS message injected by mistake would show

	// Encoded by hand, as a peer that does not validate would: version 1, flags, QoS 1, protocol 5.
	const (
		fFormat   = 1 << 1
		fContent  = 1 << 3
		fResponse = 1 << 4
		fUser     = 1 << 6
	)
	good := mapping.EncodeEnvelope(nil, mapping.Envelope{QoS: 1, ContentType: "text/plain", ResponseTopic: "reply/x", ProtocolVersion: 5})
	tests := []struct {
		name, topic string
		meta        []byte
		expiry      time.Duration
		reason      string
	}{
		{"wildcard topic", "in/+", good, 0, DropTopic},
		{"NUL in topic", "in/\x00", good, 0, DropTopic},
		{"$SYS topic", "$SYS/glue/x", good, 0, DropTopic},
		{"undecodable envelope", "in/env", []byte{9, 9, 9, 9}, 0, DropEnvelope},
		{"content type not UTF-8", "in/ct", []byte{1, fContent, 1, 5, 0, 2, 'a', 0xff}, 0, DropProperty},
		{"response topic with wildcard", "in/rt", []byte{1, fResponse, 1, 5, 0, 3, 'r', '/', '+'}, 0, DropProperty},
		{"response topic with #", "in/rt2", []byte{1, fResponse, 1, 5, 0, 3, 'r', '/', '#'}, 0, DropProperty},
		{"NUL in user property", "in/up", []byte{1, fUser, 1, 5, 0, 1, 0, 1, 'k', 0, 1, 0}, 0, DropProperty},
		{"payload format 2", "in/pf", []byte{1, fFormat, 1, 5, 2}, 0, DropProperty},
		{"expired", "in/exp", good, -time.Second, DropExpired},
	}
	for i, tc := range tests {
		a.srv.hook.onMeshMessage(mesh.Message{
			Topic: tc.topic, Type: MeshMessageType, Payload: []byte(tc.name), Meta: tc.meta,
			Origin: mesh.EndpointID{9}, Session: 1, ID: uint64(i + 1), Reliable: true, Expiry: tc.expiry,
		})
	}
	a.srv.hook.onMeshMessage(mesh.Message{
		Topic: "in/end", Type: MeshMessageType, Payload: []byte("end"), Meta: good,
		Origin: mesh.EndpointID{9}, Session: 1, ID: 1000, Reliable: true,
	})
	end := got.waitTopic(t, "in/end")
	if end.props == nil || end.props.ContentType != "text/plain" || end.props.ResponseTopic != "reply/x" {
		t.Errorf("valid message arrived with properties %+v", end.props)
	}
	if all := got.snapshot(); len(all) != 1 {
		t.Errorf("subscriber got %d messages, want only in/end: %+v", len(all), all)
	}
	want := map[string]uint64{DropTopic: 3, DropEnvelope: 1, DropProperty: 5, DropExpired: 1, DropInject: 0}
	st := a.srv.Stats()
	for reason, n := range want {
		if st.Dropped[reason] != n {
			t.Errorf("dropped[%s] = %d, want %d (all: %v)", reason, st.Dropped[reason], n, st.Dropped)
		}
	}
	for _, reason := range []string{DropTopic, DropEnvelope, DropProperty} {
		if n := logs.count("level=WARN", "dropped a mesh message", "reason="+reason); n != 1 {
			t.Errorf("%d warnings for reason %s, want exactly 1", n, reason)
		}
	}
	if n := logs.count("level=WARN", "reason="+DropExpired); n != 0 {
		t.Errorf("expired messages logged at warning level %d times", n)
	}
	// A message of a native endpoint (no envelope) on a bad topic is dropped the same way.
	a.srv.hook.onMeshMessage(mesh.Message{Topic: "in/#", Type: "text", Origin: mesh.EndpointID{9}, Session: 1, ID: 2000})
	if st := a.srv.Stats(); st.Dropped[DropTopic] != 4 {
		t.Errorf("native message on a wildcard topic: dropped[topic] = %d, want 4", st.Dropped[DropTopic])
	}
}
