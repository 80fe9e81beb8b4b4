package bridge

import (
	"bytes"
	"context"
	"testing"

	pahopackets "github.com/eclipse/paho.golang/packets"
	"github.com/eclipse/paho.golang/paho"
)

// mochi v2.7.9 answers MQTT 5 publishes with PUBACK reason code 0x01 and echoes the publish's
// properties; on the wire, PUBACK and PUBREC must carry 0x00 Success and no properties.
func TestV5AckReasonCodesOnTheWire(t *testing.T) {
	t.Parallel()
	a, _, _ := twoHosts(t, Config{})
	c, wire := v5Client(t, a.srv.Addr(), "acks", nil)
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	props := &paho.PublishProperties{ContentType: "text/plain", User: paho.UserProperties{{Key: "echo", Value: "me"}}}
	for _, qos := range []byte{1, 2} {
		if _, err := c.Publish(ctx, &paho.Publish{Topic: "acks/x", QoS: qos, Payload: []byte("x"), Properties: props}); err != nil {
			t.Fatalf("QoS %d publish: %v", qos, err)
		}
	}
	seen := map[byte]bool{}
	r := bytes.NewReader(wire.bytes())
	for {
		cp, err := pahopackets.ReadPacket(r)
		if err != nil {
			break
		}
		var code byte
		var p *pahopackets.Properties
		switch pk := cp.Content.(type) {
		case *pahopackets.Puback:
			code, p = pk.ReasonCode, pk.Properties
		case *pahopackets.Pubrec:
			code, p = pk.ReasonCode, pk.Properties
		default:
			continue
		}
		seen[cp.Type] = true
		if code != 0x00 {
			t.Errorf("%s reason code %#x, want 0x00", cp.PacketType(), code)
		}
		if p != nil && (len(p.User) > 0 || p.ContentType != "") {
			t.Errorf("%s echoes the publish's properties: %+v", cp.PacketType(), p)
		}
	}
	if !seen[pahopackets.PUBACK] || !seen[pahopackets.PUBREC] {
		t.Fatalf("saw acks %v on the wire, want a PUBACK and a PUBREC", seen)
	}
}
