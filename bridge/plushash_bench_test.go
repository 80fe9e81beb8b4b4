package bridge

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"
)

// fanoutCases are the cases of the fan-out benchmarks: "without": the workaround's internal
// subscription removed (mochi alone); "idle": the workaround installed, no local filter ends in
// "+/#" (the hook returns at once); "active": one more subscriber holds "x/+/#", so every publish
// pays the scan of the topic's children.
var fanoutCases = []struct {
	name          string
	fix, plusHash bool
}{{"without", false, false}, {"idle", true, false}, {"active", true, true}}

const fanoutSubscribers = 16

// fanoutTopic is what every benchmark publish goes to; each subscriber holds "sensors/#" (matches)
// and "other/<i>/+" (does not).
const fanoutTopic = "sensors/room3/temp"

// BenchmarkPublishFanout measures the broker's work for one publish delivered to 16 local
// subscribers, with and without the p/+/# workaround (fanoutCases): the publish is injected
// through the bridge's inline client, as a mesh message is (a local client's publish takes the
// same fan-out path), and runs mochi's topic scan, the bridge's OnSelectSubscribers and the
// per-subscriber copy. The subscribers are sessions without a connection, so no I/O is counted:
// this is the CPU cost the workaround adds, without the noise of 16 TCP connections on two cores
// (BenchmarkPublishFanoutTCP has the delivered rate).
func BenchmarkPublishFanout(b *testing.B) {
	for _, c := range fanoutCases {
		b.Run(c.name, func(b *testing.B) {
			s := fanoutServer(b, c.fix)
			for i := range fanoutSubscribers {
				offlineSubscriber(s, fmt.Sprintf("bench-%d", i), "sensors/#", fmt.Sprintf("other/%d/+", i))
			}
			if c.plusHash {
				offlineSubscriber(s, "bench-plushash", "x/+/#")
			}
			if s.hook.interest.hasPlusHash() != c.plusHash {
				b.Fatalf("hasPlusHash = %v, want %v", s.hook.interest.hasPlusHash(), c.plusHash)
			}
			pk := fanoutPacket()
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if err := s.mqtt.InjectPacket(s.hook.inline, pk); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func fanoutServer(b *testing.B, fix bool) *Server {
	b.Helper()
	s, err := New((&fakeNet{}).join(1), Config{ListenAddress: "127.0.0.1:0", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	if !fix {
		s.mqtt.Topics.Unsubscribe(plusHashShare, plusHashClient)
	}
	return s
}

func fanoutPacket() packets.Packet {
	return packets.Packet{
		FixedHeader: packets.FixedHeader{Type: packets.Publish},
		TopicName:   fanoutTopic,
		Payload:     []byte("21.5"),
	}
}

// offlineSubscriber adds a session without a connection holding QoS 0 subscriptions to filters,
// the way mochi records a SUBSCRIBE, and tells the bridge as its hook would.
func offlineSubscriber(s *Server, id string, filters ...string) {
	cl := s.mqtt.NewClient(nil, "tcp", id, false)
	s.mqtt.Clients.Add(cl)
	for _, f := range filters {
		sub := packets.Subscription{Filter: f}
		s.mqtt.Topics.Subscribe(id, sub)
		cl.State.Subscriptions.Add(f, sub)
		s.hook.interest.add(id, f)
	}
}

// BenchmarkPublishFanoutTCP is BenchmarkPublishFanout with real subscribers: MQTT 3.1.1 clients
// over TCP on loopback. Every 256 publishes it waits until every subscriber has read them all, so
// the figure is the delivered rate, not the rate of queueing. It is noisy on a small machine.
func BenchmarkPublishFanoutTCP(b *testing.B) {
	for _, c := range fanoutCases {
		b.Run(c.name, func(b *testing.B) { benchPublishFanout(b, c.fix, c.plusHash) })
	}
}

func benchPublishFanout(b *testing.B, fix, plusHash bool) {
	const subscribers = fanoutSubscribers
	s := fanoutServer(b, fix)
	counts := make([]atomic.Int64, subscribers)
	for i := range subscribers {
		conn := rawV3Subscriber(b, s.Addr(), fmt.Sprintf("bench-%d", i), "sensors/#", fmt.Sprintf("other/%d/+", i))
		defer conn.Close()
		go countPublishes(conn, &counts[i])
	}
	if plusHash {
		conn := rawV3Subscriber(b, s.Addr(), "bench-plushash", "x/+/#")
		defer conn.Close()
		go countPublishes(conn, new(atomic.Int64))
		if !s.hook.interest.hasPlusHash() {
			b.Fatal("the x/+/# subscription is not counted")
		}
	}
	pk := fanoutPacket()
	waitAll := func(want int64) {
		deadline := time.Now().Add(waitFor)
		for i := range counts {
			for counts[i].Load() < want {
				if time.Now().After(deadline) {
					b.Fatalf("subscriber %d read %d of %d publishes", i, counts[i].Load(), want)
				}
				time.Sleep(10 * time.Microsecond)
			}
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if err := s.mqtt.InjectPacket(s.hook.inline, pk); err != nil {
			b.Fatal(err)
		}
		if (i+1)%256 == 0 {
			waitAll(int64(i + 1))
		}
	}
	waitAll(int64(b.N))
	b.StopTimer()
	b.ReportMetric(float64(b.N*subscribers)/b.Elapsed().Seconds(), "deliveries/s")
}

// rawV3Subscriber connects an MQTT 3.1.1 client by hand and subscribes it (QoS 0) to filters.
func rawV3Subscriber(b *testing.B, addr, id string, filters ...string) net.Conn {
	b.Helper()
	conn, err := net.DialTimeout("tcp", addr, waitFor)
	if err != nil {
		b.Fatal(err)
	}
	connect := append([]byte{0, 4, 'M', 'Q', 'T', 'T', 4, 2, 0, 60, 0, byte(len(id))}, id...)
	sub := []byte{0, 1}
	for _, f := range filters {
		sub = append(append(append(sub, 0, byte(len(f))), f...), 0)
	}
	r := bufio.NewReader(conn)
	for _, p := range []struct {
		typ  byte
		body []byte
	}{{0x10, connect}, {0x82, sub}} {
		if _, err := conn.Write(append([]byte{p.typ, byte(len(p.body))}, p.body...)); err != nil {
			b.Fatal(err)
		}
		_ = conn.SetReadDeadline(time.Now().Add(waitFor))
		typ, body, err := readRawPacket(r)
		if err != nil || (typ != 0x20 && typ != 0x90) || body[len(body)-1] >= 0x80 {
			b.Fatalf("%s: answer 0x%02x %x, %v", id, typ, body, err)
		}
	}
	_ = conn.SetReadDeadline(time.Time{})
	return &bufferedConn{Conn: conn, r: r}
}

type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

func readRawPacket(r *bufio.Reader) (byte, []byte, error) {
	typ, err := r.ReadByte()
	if err != nil {
		return 0, nil, err
	}
	length, mult := 0, 1
	for range 4 {
		c, err := r.ReadByte()
		if err != nil {
			return 0, nil, err
		}
		length += int(c&0x7f) * mult
		mult *= 128
		if c&0x80 == 0 {
			break
		}
	}
	body := make([]byte, length)
	_, err = io.ReadFull(r, body)
	return typ, body, err
}

// countPublishes counts the PUBLISH packets read from conn until it closes.
func countPublishes(conn net.Conn, n *atomic.Int64) {
	r := bufio.NewReaderSize(conn, 64<<10)
	for {
		typ, _, err := readRawPacket(r)
		if err != nil {
			return
		}
		if typ>>4 == 3 {
			n.Add(1)
		}
	}
}
