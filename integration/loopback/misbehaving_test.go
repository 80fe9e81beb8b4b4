package loopback

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/glue-mqtt/glue-mqtt/bridge"
)

// maxPacketSize is the -max-packet-size of the instance that misbehaving clients talk to.
const maxPacketSize = 1024

// TestMisbehavingClients: malformed packets, a publish over -max-packet-size (MQTT 5: DISCONNECT
// 0x95 Packet too large; 3.1.1: the close) and a client using the bridge's reserved client ID are
// refused by instance A (started with -max-packet-size 1024, the smallest it accepts),
// and after each of them the well-behaved clients of A keep publishing to and receiving from B.
func TestMisbehavingClients(t *testing.T) {
	n := newNetwork(t)
	a := n.start("A", "-max-packet-size", fmt.Sprint(maxPacketSize))
	b := n.start("B")
	n.waitMesh()
	h := newHealthyPair(t, a, b)
	h.check(t, "before any misbehaviour")

	t.Run("MalformedPackets", func(t *testing.T) {
		cases := []struct {
			name    string
			connect []byte // sent first, and answered with a CONNACK, when not nil
			bad     []byte
		}{
			{"HTTPInsteadOfCONNECT", nil, []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")},
			{"ReservedPacketTypeFirst", nil, []byte{0x00, 0x00}},
			{"V3PublishTopicLongerThanPacket", connectPacket(4, "bad-v3-topic"), []byte{0x30, 0x03, 0xff, 0xff, 'a'}},
			{"V5RemainingLengthOfFiveBytes", connectPacket(5, "bad-v5-length"), []byte{0x30, 0xff, 0xff, 0xff, 0xff, 0x7f}},
			{"V5PublishWithQoS3", connectPacket(5, "bad-v5-qos3"), append([]byte{0x36, 0x08}, 0x00, 0x01, 'x', 0x00, 0x01, 0x00, 'p', 'p')},
			{"V3SubscribeWithoutFilters", connectPacket(4, "bad-v3-subscribe"), []byte{0x82, 0x02, 0x00, 0x01}},
		}
		for _, tc := range cases {
			conn := dialRaw(t, a)
			if tc.connect != nil {
				conn.write(t, tc.connect)
				if typ, body := conn.readPacket(t); typ != 0x20 || len(body) < 2 || body[1] != 0 {
					t.Fatalf("%s: want a successful CONNACK, got type 0x%02x %x", tc.name, typ, body)
				}
			}
			conn.write(t, tc.bad)
			got := conn.readUntilClosed(t)
			t.Logf("%s: connection closed by glue-mqtt after %s", tc.name, got)
			h.check(t, "after "+tc.name)
		}
	})

	t.Run("OversizedPublish", func(t *testing.T) {
		// MQTT 5 over raw TCP, so that no client library refuses the packet before the broker can.
		// A clear refusal is a DISCONNECT with reason code 0x95 Packet too large, then the close.
		conn := dialRaw(t, a)
		conn.write(t, connectPacket(5, "oversized-v5"))
		if typ, body := conn.readPacket(t); typ != 0x20 || len(body) < 2 || body[1] != 0 {
			t.Fatalf("want a successful CONNACK, got type 0x%02x %x", typ, body)
		}
		big := publishPacketV5(h.topic, strings.Repeat("x", 2*maxPacketSize))
		conn.write(t, big)
		t.Logf("oversized MQTT 5 publish (%d bytes, limit %d) sent; reading the answer", len(big), maxPacketSize)
		typ, body := conn.readPacket(t)
		if typ != 0xe0 || len(body) < 1 || body[0] != 0x95 {
			t.Errorf("after an oversized publish: packet type 0x%02x % x, want DISCONNECT (0xe0) with reason 0x95 Packet too large", typ, body)
		}
		if after := conn.readUntilClosed(t); !strings.HasPrefix(after, "nothing more") {
			t.Errorf("after the DISCONNECT: got %s before the close, want nothing", after)
		}
		if !a.waitLog(`over the maximum packet size" client=oversized-v5 `, 1) || a.log.count(fmt.Sprintf("size=%d limit=%d", len(big), maxPacketSize)) != 1 {
			t.Errorf("A did not log the refusal naming oversized-v5 and the size %d", len(big))
		}
		h.check(t, "after an oversized MQTT 5 publish")

		// MQTT 3.1.1 through paho: no reason codes, the connection is closed.
		lost := make(chan error, 1)
		opts := mqtt.NewClientOptions().AddBroker("tcp://" + a.addr).SetClientID("oversized-v3").
			SetAutoReconnect(false).SetConnectTimeout(5 * time.Second).
			SetConnectionLostHandler(func(_ mqtt.Client, err error) { lost <- err })
		c := mqtt.NewClient(opts)
		if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("oversized-v3: connect: %v", tok.Error())
		}
		defer c.Disconnect(0)
		c.Publish(h.topic, 1, false, strings.Repeat("y", 2*maxPacketSize))
		select {
		case err := <-lost:
			t.Logf("oversized MQTT 3.1.1 publish: connection lost (%v)", err)
			if !a.waitLog(`over the maximum packet size" client=oversized-v3 `, 1) {
				t.Errorf("A did not log the refusal of oversized-v3 with its client ID")
			}
		case <-time.After(deliveryDeadline):
			t.Errorf("an MQTT 3.1.1 client publishing %d bytes over a %d-byte limit kept its connection", 2*maxPacketSize, maxPacketSize)
		}
		// Just under the limit still crosses the mesh.
		under := strings.Repeat("u", maxPacketSize-100)
		h.onA.publishSimple(t, h.topic, 1, under)
		h.onB.in.waitPayload(t, h.topic, under)
		h.check(t, "after an oversized MQTT 3.1.1 publish")
		listenQuiet()
		for _, m := range h.onB.in.all() {
			if len(m.Payload) > maxPacketSize {
				t.Errorf("a %d-byte payload over A's limit reached B", len(m.Payload))
			}
		}
	})

	t.Run("ReservedClientID", func(t *testing.T) {
		refusedBefore := a.log.count("reserved client ID")
		opts := mqtt.NewClientOptions().AddBroker("tcp://" + a.addr).SetClientID(bridge.InlineClientID).
			SetAutoReconnect(false).SetConnectTimeout(5 * time.Second)
		c := mqtt.NewClient(opts)
		tok := c.Connect()
		if !tok.WaitTimeout(10 * time.Second) {
			t.Fatal("MQTT 3.1.1 connect with the reserved client ID: no answer in 10 s")
		}
		if tok.Error() == nil {
			c.Disconnect(0)
			t.Errorf("MQTT 3.1.1 client with ID %q was accepted", bridge.InlineClientID)
		} else {
			code := tok.(*mqtt.ConnectToken).ReturnCode()
			if code != 2 {
				t.Errorf("MQTT 3.1.1 CONNACK return code %d, want 2 (identifier rejected)", code)
			}
			t.Logf("MQTT 3.1.1 client with the reserved ID: refused, CONNACK return code %d (%v)", code, tok.Error())
		}
		h.check(t, "after an MQTT 3.1.1 client used the reserved client ID")

		cl, ack, err := dialV5(a, bridge.InlineClientID)
		switch {
		case err != nil && ack == nil:
			t.Logf("MQTT 5 client with the reserved ID: refused without a CONNACK (%v)", err)
		case ack.ReasonCode != 0x85:
			_ = cl.c.Disconnect(&paho.Disconnect{})
			t.Errorf("MQTT 5 client with ID %q: CONNACK reason 0x%02x, want 0x85 Client Identifier not valid", bridge.InlineClientID, ack.ReasonCode)
		default:
			t.Logf("MQTT 5 client with the reserved ID: refused, CONNACK reason 0x%02x", ack.ReasonCode)
		}
		// The injection of mesh messages into A goes through the inline client this ID names:
		// check() shows B's publishes still reach A's subscriber.
		h.check(t, "after an MQTT 5 client used the reserved client ID")
		if !a.waitLog("reserved client ID", refusedBefore+2) {
			t.Errorf("A logged %d refusals of the reserved client ID, want 2", a.log.count("reserved client ID")-refusedBefore)
		}
	})
	if !a.alive() || !b.alive() {
		t.Fatalf("a glue-mqtt process died: A alive %v, B alive %v", a.alive(), b.alive())
	}
}

// healthyPair is a well-behaved MQTT 5 client on each of two instances, both subscribed to one
// topic, connected for the whole test.
type healthyPair struct {
	topic    string
	onA, onB *v5Client
	rounds   int
}

func newHealthyPair(t *testing.T, a, b *instance) *healthyPair {
	h := &healthyPair{topic: uniqueTopic("healthy")}
	h.onA, h.onB = connectV5(t, a, "healthy-a"), connectV5(t, b, "healthy-b")
	h.onA.subscribe(t, h.topic, 1)
	h.onB.subscribe(t, h.topic, 1)
	return h
}

// check: the healthy clients are still connected, and each one's publish reaches both (its own
// instance's subscriber and, across the mesh, the other's).
func (h *healthyPair) check(t *testing.T, when string) {
	t.Helper()
	h.rounds++
	for _, c := range []*v5Client{h.onA, h.onB} {
		select {
		case <-c.c.Done():
			t.Fatalf("%s: healthy client %s lost its connection (server DISCONNECT %+v)", when, c.id, c.serverDisconnect())
		default:
		}
	}
	fromA, fromB := fmt.Sprintf("round %d from A", h.rounds), fmt.Sprintf("round %d from B", h.rounds)
	h.onA.publishSimple(t, h.topic, 1, fromA)
	h.onB.publishSimple(t, h.topic, 1, fromB)
	for _, c := range []*v5Client{h.onA, h.onB} {
		for _, payload := range []string{fromA, fromB} {
			c.in.waitPayload(t, h.topic, payload)
		}
	}
}

// rawConn is a TCP connection to an instance's MQTT port, spoken to in bytes.
type rawConn struct {
	c net.Conn
	r *bufio.Reader
}

func dialRaw(t *testing.T, inst *instance) *rawConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", inst.addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", inst.name, err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawConn{c: c, r: bufio.NewReader(c)}
}

func (rc *rawConn) write(t *testing.T, b []byte) {
	t.Helper()
	_ = rc.c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := rc.c.Write(b); err != nil {
		t.Fatalf("write: %v", err)
	}
}

// readPacket reads one MQTT packet: its type byte (with flags) and body.
func (rc *rawConn) readPacket(t *testing.T) (byte, []byte) {
	t.Helper()
	_ = rc.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	typ, err := rc.r.ReadByte()
	if err != nil {
		t.Fatalf("read packet type: %v", err)
	}
	length, mult := 0, 1
	for i := 0; ; i++ {
		b, err := rc.r.ReadByte()
		if err != nil || i == 4 {
			t.Fatalf("read remaining length: %v", err)
		}
		length += int(b&0x7f) * mult
		mult *= 128
		if b&0x80 == 0 {
			break
		}
	}
	body := make([]byte, length)
	if _, err := io.ReadFull(rc.r, body); err != nil {
		t.Fatalf("read packet body: %v", err)
	}
	return typ, body
}

// readUntilClosed reads until the server closes the connection (within 5 s) and describes what
// came before the close.
func (rc *rawConn) readUntilClosed(t *testing.T) string {
	t.Helper()
	_ = rc.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	rest, err := io.ReadAll(rc.r)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("connection still open 5 s later (read %x)", rest)
	}
	desc := "nothing more"
	if len(rest) > 0 {
		desc = fmt.Sprintf("% x", rest)
	}
	if err != nil {
		desc += fmt.Sprintf(" (%v)", err)
	}
	return desc
}

// connectPacket is a clean-session CONNECT of protocol level 4 (3.1.1) or 5, keep-alive 60 s.
func connectPacket(level byte, clientID string) []byte {
	body := []byte{0x00, 0x04, 'M', 'Q', 'T', 'T', level, 0x02, 0x00, 60}
	if level == 5 {
		body = append(body, 0x00) // no properties
	}
	body = append(body, byte(len(clientID)>>8), byte(len(clientID)))
	body = append(body, clientID...)
	return packet(0x10, body)
}

// publishPacketV5 is a QoS 0 MQTT 5 PUBLISH without properties.
func publishPacketV5(topic, payload string) []byte {
	body := []byte{byte(len(topic) >> 8), byte(len(topic))}
	body = append(body, topic...)
	body = append(body, 0x00) // no properties
	body = append(body, payload...)
	return packet(0x30, body)
}

func packet(typ byte, body []byte) []byte {
	out := []byte{typ}
	n := len(body)
	for {
		b := byte(n % 128)
		n /= 128
		if n > 0 {
			b |= 0x80
		}
		out = append(out, b)
		if n == 0 {
			break
		}
	}
	return append(out, body...)
}

// connackMaximumPacketSize finds the Maximum Packet Size property (0x27) of an MQTT 5 CONNACK body.
func connackMaximumPacketSize(body []byte) (uint32, bool) {
	if len(body) < 3 {
		return 0, false
	}
	props, i := 0, 2
	for mult := 1; i < len(body); i++ {
		props += int(body[i]&0x7f) * mult
		mult *= 128
		if body[i]&0x80 == 0 {
			i++
			break
		}
	}
	end := min(i+props, len(body))
	for i < end {
		id := body[i]
		i++
		switch id {
		case 0x27: // Maximum Packet Size, four bytes
			if i+4 > end {
				return 0, false
			}
			return uint32(body[i])<<24 | uint32(body[i+1])<<16 | uint32(body[i+2])<<8 | uint32(body[i+3]), true
		case 0x11, 0x18: // four-byte integers
			i += 4
		case 0x21, 0x22, 0x13: // two-byte integers
			i += 2
		case 0x24, 0x25, 0x28, 0x29, 0x2a, 0x01, 0x17, 0x19: // bytes
			i++
		case 0x12, 0x1a, 0x1c, 0x1f, 0x15, 0x16: // strings and binary data: two-byte length
			if i+2 > end {
				return 0, false
			}
			i += 2 + (int(body[i])<<8 | int(body[i+1]))
		case 0x26: // user property: two strings
			for k := 0; k < 2 && i+2 <= end; k++ {
				i += 2 + (int(body[i])<<8 | int(body[i+1]))
			}
		default:
			return 0, false
		}
	}
	return 0, false
}
