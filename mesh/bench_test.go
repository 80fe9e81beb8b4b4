package mesh

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkRawUDP is the physical reference: one 64-byte datagram per send on loopback, counted
// at a receiver. The mesh benchmarks below run on the same machine and socket type.
func BenchmarkRawUDP(b *testing.B) {
	for _, size := range []int{64, 1024} {
		b.Run(fmt.Sprintf("%dB", size), func(b *testing.B) {
			rx, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
			if err != nil {
				b.Fatal(err)
			}
			defer rx.Close()
			rx.SetReadBuffer(4 << 20)
			tx, err := net.DialUDP("udp4", nil, rx.LocalAddr().(*net.UDPAddr))
			if err != nil {
				b.Fatal(err)
			}
			defer tx.Close()
			var got atomic.Int64
			done := make(chan struct{})
			go func() {
				defer close(done)
				buf := make([]byte, 2048)
				for {
					if _, err := rx.Read(buf); err != nil {
						return
					}
					got.Add(1)
				}
			}()
			msg := make([]byte, size)
			b.SetBytes(int64(size))
			b.ResetTimer()
			start := time.Now()
			for range b.N {
				tx.Write(msg)
			}
			// Wait for the receiver to drain what the kernel kept.
			for last := int64(-1); got.Load() != last; {
				last = got.Load()
				time.Sleep(20 * time.Millisecond)
			}
			el := time.Since(start)
			b.StopTimer()
			b.ReportMetric(float64(got.Load())/el.Seconds(), "datagrams/s")
			b.ReportMetric(float64(b.N-int(got.Load()))/float64(b.N)*100, "%lost")
			rx.Close()
			<-done
		})
	}
}

// benchPair starts two endpoints on loopback (multicast discovery on lo, a random group port)
// and a subscription on the second.
func benchPair(b *testing.B, onMsg func(Message)) (*Endpoint, *Endpoint) {
	b.Helper()
	cfg := DefaultConfig()
	cfg.NetworkID = fmt.Sprintf("bench-%d", rand.Int())
	cfg.ListenInterface = "lo"
	cfg.DiscoveryTarget = fmt.Sprintf("239.192.137.1:%d", 20000+rand.IntN(20000))
	cfg.DiscoveryRate = 200 * time.Millisecond
	cfg.Logger = testLogger()
	var eps [2]*Endpoint
	for i := range eps {
		e, err := New(cfg)
		if err != nil {
			b.Fatal(err)
		}
		if err := e.Start(); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { e.Stop() })
		eps[i] = e
	}
	if err := eps[1].Subscribe("bench/#", "", onMsg); err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for len(eps[0].Peers()) != 1 || len(eps[1].Peers()) != 1 {
		if ctx.Err() != nil {
			b.Fatal("no discovery")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := eps[1].SyncInterest(ctx); err != nil {
		b.Fatal(err)
	}
	return eps[0], eps[1]
}

// BenchmarkEndpointPair: reliable messages between two endpoints on loopback, counted at the
// subscriber's handler.
func BenchmarkEndpointPair(b *testing.B) {
	for _, size := range []int{64, 1024, 1 << 20} {
		b.Run(fmt.Sprintf("%dB", size), func(b *testing.B) {
			var got atomic.Int64
			all := make(chan struct{})
			target := int64(b.N)
			pub, _ := benchPair(b, func(Message) {
				if got.Add(1) == target {
					close(all)
				}
			})
			payload := make([]byte, size)
			b.SetBytes(int64(size))
			b.ResetTimer()
			start := time.Now()
			for range b.N {
				if err := pub.Send(context.Background(), Outgoing{Topic: "bench/x", Payload: payload}); err != nil {
					b.Fatal(err)
				}
			}
			select {
			case <-all:
			case <-time.After(2 * time.Minute):
				b.Fatalf("received %d of %d", got.Load(), b.N)
			}
			el := time.Since(start)
			b.StopTimer()
			b.ReportMetric(float64(b.N)/el.Seconds(), "msgs/s")
		})
	}
}
