package bridge

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
)

// A publish larger than MaxPacketSize is refused: that client is dropped, nothing reaches the
// mesh, and other clients carry on.
func TestMaxPacketSizeRefused(t *testing.T) {
	t.Parallel()
	a, _, _ := twoHosts(t, Config{MaxPacketSize: 4096})
	lost := make(chan *paho.Disconnect, 1)
	conn, err := dialTCP(a.srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	c := paho.NewClient(paho.ClientConfig{Conn: conn, OnServerDisconnect: func(d *paho.Disconnect) { lost <- d }})
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	if _, err := c.Connect(ctx, &paho.Connect{ClientID: "big", CleanStart: true}); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Disconnect(&paho.Disconnect{}); <-c.Done() }()
	_, _ = c.PublishWithOptions(ctx, &paho.Publish{Topic: "big/x", QoS: 0, Payload: bytes.Repeat([]byte("x"), 8192)}, paho.PublishOptions{})
	select {
	case d := <-lost:
		if d.ReasonCode != 0x95 {
			t.Errorf("disconnect reason %#x, want 0x95 Packet too large", d.ReasonCode)
		}
	case <-c.Done():
	case <-time.After(waitFor):
		t.Fatal("oversized publish did not drop the client")
	}
	if s := a.mesh.sentTopics(); len(s) != 0 {
		t.Errorf("oversized publish reached the mesh: %v", s)
	}
	ok := v3Client(t, a.srv.Addr(), "small", true)
	v3Publish(t, ok, "small/x", 1, strings.Repeat("y", 1000))
	eventually(t, "small publish to reach the mesh", func() bool { return len(a.mesh.sentTopics()) == 1 })
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
