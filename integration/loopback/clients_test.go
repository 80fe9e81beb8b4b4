package loopback

import (
	"context"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// delivery is one PUBLISH a test client received.
type delivery struct {
	Topic   string
	Payload string
	QoS     byte
	Retain  bool
	Props   *paho.PublishProperties // MQTT 5 clients only
	At      time.Time
}

// inbox records what one client received, in order; safe for concurrent use.
type inbox struct {
	mu      sync.Mutex
	msgs    []delivery
	changed chan struct{}
}

func newInbox() *inbox { return &inbox{changed: make(chan struct{}, 1)} }

func (b *inbox) add(d delivery) {
	d.At = time.Now()
	b.mu.Lock()
	b.msgs = append(b.msgs, d)
	b.mu.Unlock()
	select {
	case b.changed <- struct{}{}:
	default:
	}
}

// all returns a copy of every delivery so far.
func (b *inbox) all() []delivery {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]delivery(nil), b.msgs...)
}

// waitUntil polls until done holds for the deliveries so far, or fails the test after timeout.
func (b *inbox) waitUntil(t *testing.T, timeout time.Duration, what string, done func([]delivery) bool) []delivery {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		msgs := b.all()
		if done(msgs) {
			return msgs
		}
		select {
		case <-b.changed:
		case <-deadline.C:
			msgs = b.all()
			t.Fatalf("%s: not within %v; got %d deliveries%s", what, timeout, len(msgs), summary(msgs))
			return nil
		}
	}
}

// waitPayload waits for a delivery with this topic and payload and returns it.
func (b *inbox) waitPayload(t *testing.T, topic, payload string) delivery {
	t.Helper()
	var found delivery
	b.waitUntil(t, deliveryDeadline, fmt.Sprintf("delivery of %q on %q", payload, topic), func(msgs []delivery) bool {
		for _, m := range msgs {
			if m.Topic == topic && m.Payload == payload {
				found = m
				return true
			}
		}
		return false
	})
	return found
}

// waitCount waits until at least n deliveries arrived.
func (b *inbox) waitCount(t *testing.T, n int, timeout time.Duration) []delivery {
	t.Helper()
	return b.waitUntil(t, timeout, fmt.Sprintf("%d deliveries", n), func(msgs []delivery) bool { return len(msgs) >= n })
}

func summary(msgs []delivery) string {
	s := ""
	for i, m := range msgs {
		if i == 8 {
			s += fmt.Sprintf(" ... and %d more", len(msgs)-i)
			break
		}
		s += fmt.Sprintf(" [%s %q q%d]", m.Topic, m.Payload, m.QoS)
	}
	return s
}

// listenQuiet keeps listening for quietWindow, for deliveries that must not come (see doc.go).
func listenQuiet() { time.Sleep(quietWindow) }

// v3Client is a paho.mqtt.golang (MQTT 3.1.1) client of one instance.
type v3Client struct {
	id string
	c  mqtt.Client
	in *inbox
}

// connectV3 connects an MQTT 3.1.1 clean-session client; it disconnects in t.Cleanup.
func connectV3(t *testing.T, inst *instance, id string) *v3Client {
	t.Helper()
	cl := &v3Client{id: id, in: newInbox()}
	opts := mqtt.NewClientOptions().
		AddBroker("tcp://" + inst.addr).
		SetClientID(id).
		SetCleanSession(true).
		SetAutoReconnect(false).
		SetConnectTimeout(5 * time.Second).
		SetWriteTimeout(5 * time.Second).
		SetKeepAlive(30 * time.Second).
		SetDefaultPublishHandler(func(_ mqtt.Client, m mqtt.Message) {
			cl.in.add(delivery{Topic: m.Topic(), Payload: string(m.Payload()), QoS: m.Qos(), Retain: m.Retained()})
		})
	cl.c = mqtt.NewClient(opts)
	tok := cl.c.Connect()
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("v3 client %s: connect to %s: %v", id, inst.name, tok.Error())
	}
	t.Cleanup(func() { cl.c.Disconnect(100) })
	return cl
}

// subscribe subscribes to filter and returns the granted QoS.
func (cl *v3Client) subscribe(t *testing.T, filter string, qos byte) byte {
	t.Helper()
	tok := cl.c.Subscribe(filter, qos, nil)
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("v3 client %s: subscribe %q: %v", cl.id, filter, tok.Error())
	}
	return tok.(*mqtt.SubscribeToken).Result()[filter]
}

func (cl *v3Client) unsubscribe(t *testing.T, filter string) {
	t.Helper()
	tok := cl.c.Unsubscribe(filter)
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("v3 client %s: unsubscribe %q: %v", cl.id, filter, tok.Error())
	}
}

// publish publishes and waits for the acknowledgement (for QoS 0: until written).
func (cl *v3Client) publish(t *testing.T, topic string, qos byte, payload string) {
	t.Helper()
	tok := cl.c.Publish(topic, qos, false, payload)
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("v3 client %s: publish %q: %v", cl.id, topic, tok.Error())
	}
}

// v5Client is a paho.golang (MQTT 5) client of one instance.
type v5Client struct {
	id string
	c  *paho.Client
	in *inbox

	mu         sync.Mutex
	disconnect *paho.Disconnect // a DISCONNECT the server sent, if any
	errs       []error
}

// connectV5 connects an MQTT 5 clean-start client; it disconnects in t.Cleanup.
func connectV5(t *testing.T, inst *instance, id string) *v5Client {
	t.Helper()
	cl, ack, err := dialV5(inst, id)
	if err != nil {
		t.Fatalf("v5 client %s: connect to %s: %v", id, inst.name, err)
	}
	if ack.ReasonCode != 0 {
		t.Fatalf("v5 client %s: CONNACK reason 0x%02x", id, ack.ReasonCode)
	}
	t.Cleanup(func() { _ = cl.c.Disconnect(&paho.Disconnect{ReasonCode: 0}) })
	return cl
}

// dialV5 connects an MQTT 5 client and returns it with the server's CONNACK.
func dialV5(inst *instance, id string) (*v5Client, *paho.Connack, error) {
	conn, err := net.DialTimeout("tcp", inst.addr, 5*time.Second)
	if err != nil {
		return nil, nil, err
	}
	cl := &v5Client{id: id, in: newInbox()}
	cl.c = paho.NewClient(paho.ClientConfig{
		Conn: conn,
		OnPublishReceived: []func(paho.PublishReceived) (bool, error){
			func(pr paho.PublishReceived) (bool, error) {
				p := pr.Packet
				cl.in.add(delivery{Topic: p.Topic, Payload: string(p.Payload), QoS: p.QoS, Retain: p.Retain, Props: p.Properties})
				return true, nil
			},
		},
		OnServerDisconnect: func(d *paho.Disconnect) {
			cl.mu.Lock()
			cl.disconnect = d
			cl.mu.Unlock()
		},
		OnClientError: func(err error) {
			cl.mu.Lock()
			cl.errs = append(cl.errs, err)
			cl.mu.Unlock()
		},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ack, err := cl.c.Connect(ctx, &paho.Connect{ClientID: id, CleanStart: true, KeepAlive: 30})
	if err != nil && ack == nil {
		conn.Close()
		return nil, nil, err
	}
	return cl, ack, nil
}

// subscribe subscribes to filter and returns the SUBACK's reason code (the granted QoS).
func (cl *v5Client) subscribe(t *testing.T, filter string, qos byte) byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ack, err := cl.c.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: filter, QoS: qos}}})
	if err != nil {
		t.Fatalf("v5 client %s: subscribe %q: %v", cl.id, filter, err)
	}
	if len(ack.Reasons) != 1 {
		t.Fatalf("v5 client %s: subscribe %q: %d reason codes", cl.id, filter, len(ack.Reasons))
	}
	return ack.Reasons[0]
}

func (cl *v5Client) unsubscribe(t *testing.T, filter string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := cl.c.Unsubscribe(ctx, &paho.Unsubscribe{Topics: []string{filter}}); err != nil {
		t.Fatalf("v5 client %s: unsubscribe %q: %v", cl.id, filter, err)
	}
}

// publish publishes p and waits for its acknowledgement; it fails the test on an error reason.
func (cl *v5Client) publish(t *testing.T, p *paho.Publish) *paho.PublishResponse {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := cl.c.Publish(ctx, p)
	if err != nil {
		t.Fatalf("v5 client %s: publish %q QoS %d: %v", cl.id, p.Topic, p.QoS, err)
	}
	return resp
}

// publishSimple publishes a payload without properties.
func (cl *v5Client) publishSimple(t *testing.T, topic string, qos byte, payload string) {
	t.Helper()
	cl.publish(t, &paho.Publish{Topic: topic, QoS: qos, Payload: []byte(payload)})
}

// serverDisconnect returns the DISCONNECT the server sent, if any.
func (cl *v5Client) serverDisconnect() *paho.Disconnect {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	return cl.disconnect
}

// subscriber is what the tests need of either client kind.
type subscriber interface {
	subscribe(t *testing.T, filter string, qos byte) byte
	unsubscribe(t *testing.T, filter string)
	inbox() *inbox
	name() string
}

// publisher is what the tests need of either client kind.
type publisher interface {
	publishPayload(t *testing.T, topic string, qos byte, payload string)
	name() string
}

func (cl *v3Client) inbox() *inbox { return cl.in }
func (cl *v5Client) inbox() *inbox { return cl.in }
func (cl *v3Client) name() string  { return "v3 " + cl.id }
func (cl *v5Client) name() string  { return "v5 " + cl.id }

func (cl *v3Client) publishPayload(t *testing.T, topic string, qos byte, payload string) {
	t.Helper()
	cl.publish(t, topic, qos, payload)
}

func (cl *v5Client) publishPayload(t *testing.T, topic string, qos byte, payload string) {
	t.Helper()
	cl.publishSimple(t, topic, qos, payload)
}
