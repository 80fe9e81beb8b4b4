package bridge

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	pahopackets "github.com/eclipse/paho.golang/packets"
	"github.com/eclipse/paho.golang/paho"
	pahov3 "github.com/eclipse/paho.mqtt.golang"
)

// A publish larger than MaxPacketSize is refused clearly: an MQTT 5 client gets a DISCONNECT with
// reason code 0x95 Packet too large, an MQTT 3.1.1 client is disconnected, a warning names the
// client and the size, nothing reaches the mesh, and other clients carry on.
func TestMaxPacketSizeRefused(t *testing.T) {
	t.Parallel()
	log, logs := capturingLogger(t)
	n := &fakeNet{}
	a := startHost(t, n, 1, Config{MaxPacketSize: 4096, Logger: log})
	startHost(t, n, 2, Config{})
	conn, err := dialTCP(a.srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	wire := &sniffConn{TCPConn: conn.(*net.TCPConn)}
	c := paho.NewClient(paho.ClientConfig{Conn: wire})
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	if _, err := c.Connect(ctx, &paho.Connect{ClientID: "big5", CleanStart: true}); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Disconnect(&paho.Disconnect{}); <-c.Done() }()
	_, _ = c.PublishWithOptions(ctx, &paho.Publish{Topic: "big/x", QoS: 0, Payload: bytes.Repeat([]byte("x"), 8192)}, paho.PublishOptions{})
	select {
	case <-c.Done():
	case <-time.After(waitFor):
		t.Fatal("oversized publish did not drop the client")
	}
	// What the server sent before closing, after the CONNACK: exactly one DISCONNECT 0x95.
	var got []string
	r := bytes.NewReader(wire.bytes())
	for {
		cp, err := pahopackets.ReadPacket(r)
		if err != nil {
			break
		}
		if d, ok := cp.Content.(*pahopackets.Disconnect); ok {
			got = append(got, fmt.Sprintf("DISCONNECT 0x%02x", d.ReasonCode))
		} else if cp.Type != pahopackets.CONNACK {
			got = append(got, cp.PacketType())
		}
	}
	if len(got) != 1 || got[0] != "DISCONNECT 0x95" {
		t.Fatalf("server sent %v before closing, want [DISCONNECT 0x95] (Packet too large)", got)
	}
	// 8192 bytes of payload, "big/x" and the headers: 8203 bytes.
	if logs.count("level=WARN", "over the maximum packet size", "client=big5", "size=8203", "limit=4096") != 1 {
		t.Errorf("no warning naming the MQTT 5 client and the packet's size")
	}

	// MQTT 3.1.1 has no DISCONNECT from the server: the connection is closed.
	v3lost := make(chan error, 1)
	c3 := newV3(v3Options(a.srv.Addr(), "big3").SetConnectionLostHandler(func(_ pahov3.Client, err error) { v3lost <- err }))
	if tok := c3.Connect(); !tok.WaitTimeout(waitFor) || tok.Error() != nil {
		t.Fatalf("v3 connect: %v", tok.Error())
	}
	c3.Publish("big/y", 1, false, strings.Repeat("y", 5000))
	select {
	case <-v3lost:
	case <-time.After(waitFor):
		t.Fatal("the MQTT 3.1.1 client publishing over the limit kept its connection")
	}
	if logs.count("level=WARN", "over the maximum packet size", "client=big3", "protocol=4") != 1 {
		t.Errorf("no warning naming the MQTT 3.1.1 client")
	}

	if s := a.mesh.sentTopics(); len(s) != 0 {
		t.Errorf("oversized publish reached the mesh: %v", s)
	}
	if got := a.srv.Stats().PacketsTooLarge; got != 2 {
		t.Errorf("PacketsTooLarge = %d, want 2", got)
	}
	ok := v3Client(t, a.srv.Addr(), "small", true)
	v3Publish(t, ok, "small/x", 1, strings.Repeat("y", 1000))
	eventually(t, "small publish to reach the mesh", func() bool { return len(a.mesh.sentTopics()) == 1 })
}

// Beyond the hard ceiling mochi closes the connection at the header, before the hook sees the
// packet; that is still counted and logged.
func TestPacketOverCeilingCounted(t *testing.T) {
	t.Parallel()
	log, logs := capturingLogger(t)
	a := startHost(t, &fakeNet{}, 1, Config{MaxPacketSize: 1024, Logger: log})
	if got, want := packetCeiling(1024), uint32(1024+1<<20); got != want {
		t.Fatalf("packetCeiling(1024) = %d, want %d", got, want)
	}
	conn, err := dialTCP(a.srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c := paho.NewClient(paho.ClientConfig{Conn: conn})
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	if _, err := c.Connect(ctx, &paho.Connect{ClientID: "huge", CleanStart: true}); err != nil {
		t.Fatal(err)
	}
	// Only the fixed header: mochi refuses the length before any payload arrives.
	if _, err := conn.Write([]byte{0x30, 0xff, 0xff, 0x7f}); err != nil { // remaining length 2 MiB - 1
		t.Fatal(err)
	}
	select {
	case <-c.Done():
	case <-time.After(waitFor):
		t.Fatal("a packet over the hard ceiling did not end the connection")
	}
	eventually(t, "the over-ceiling packet to be counted and logged", func() bool {
		return a.srv.Stats().PacketsTooLarge == 1 && logs.count("level=WARN", "hard size ceiling", "client=huge") == 1
	})
}

func TestPacketSize(t *testing.T) {
	for remaining, want := range map[int]uint64{0: 2, 127: 129, 128: 131, 16383: 16386, 16384: 16388, 268435455: 268435460} {
		if got := packetSize(remaining); got != want {
			t.Errorf("packetSize(%d) = %d, want %d", remaining, got, want)
		}
	}
	if packetCeiling(1<<30) != maxMQTTPacket || packetCeiling(16<<20) != 32<<20 {
		t.Errorf("packetCeiling: %d, %d", packetCeiling(1<<30), packetCeiling(16<<20))
	}
}

// A malformed packet drops that connection only.
func TestMalformedPacketDropsOnlyThatClient(t *testing.T) {
	t.Parallel()
	a, b, _ := twoHosts(t, Config{})
	got := newReceived()
	v3Subscribe(t, v3Client(t, a.srv.Addr(), "good", true), "ok/#", 1, got)
	bad, err := dialTCP(a.srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer bad.Close()
	// A CONNECT with a length that runs past the bytes sent, then garbage.
	if _, err := bad.Write([]byte{0x10, 0x05, 0x00, 0x04, 'M', 'Q', 0xff, 0xff, 0xff, 0xff, 0xff}); err != nil {
		t.Fatal(err)
	}
	_ = bad.SetReadDeadline(time.Now().Add(waitFor))
	if _, err := io.ReadAll(bad); err != nil {
		t.Fatalf("malformed client was not disconnected: %v", err)
	}
	v3Publish(t, v3Client(t, b.srv.Addr(), "pub", true), "ok/x", 1, "x")
	got.waitTopic(t, "ok/x")
}
