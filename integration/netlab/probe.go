package netlab

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"time"
)

// ProbeUnicast sends count datagrams from host from to addr (paced in small bursts, so that
// socket buffers never overflow and every shortfall is the fault under test) while rx, the
// socket bound to addr in another host, counts them, and returns how many arrived.
func ProbeUnicast(from *Host, rx *net.UDPConn, addr *net.UDPAddr, count int) (int, error) {
	msg := fmt.Appendf(nil, "netlab probe %d", rand.Int64())
	var got int
	var wg sync.WaitGroup
	sent := make(chan struct{})
	senderDone := sync.OnceFunc(func() { close(sent) })
	wg.Add(1)
	go func() {
		defer wg.Done()
		got = CountDatagrams(rx, msg, sent, 300*time.Millisecond, time.Now().Add(15*time.Second))
	}()
	defer wg.Wait()
	defer senderDone() // also on error, so the counter stops
	out, err := from.ListenUDP(from.Addr.String() + ":0")
	if err != nil {
		return 0, err
	}
	defer out.Close()
	for i := 0; i < count; i++ {
		if _, err := out.WriteToUDP(msg, addr); err != nil {
			return 0, fmt.Errorf("integration: %s: probe send %d: %w", from.Name, i, err)
		}
		if i%20 == 19 {
			time.Sleep(200 * time.Microsecond) // pacing, not synchronisation
		}
	}
	senderDone()
	wg.Wait()
	return got, nil
}

// ProbeMulticast sends count datagrams from host from to group and returns how many each of
// rxs (sockets joined to group in other hosts, see ListenMulticastUDP) received.
func ProbeMulticast(from *Host, group *net.UDPAddr, rxs []*net.UDPConn, count int) ([]int, error) {
	msg := fmt.Appendf(nil, "netlab multicast probe %d", rand.Int64())
	counts := make([]int, len(rxs))
	var wg sync.WaitGroup
	sent := make(chan struct{})
	senderDone := sync.OnceFunc(func() { close(sent) })
	defer wg.Wait()
	defer senderDone()
	for i, rx := range rxs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			counts[i] = CountDatagrams(rx, msg, sent, 300*time.Millisecond, time.Now().Add(10*time.Second))
		}()
	}
	tx, err := from.ListenMulticastUDP(&net.UDPAddr{IP: group.IP, Port: 0})
	if err != nil {
		return nil, err
	}
	defer tx.Close()
	for i := 0; i < count; i++ {
		if _, err := tx.WriteToUDP(msg, group); err != nil {
			return nil, fmt.Errorf("integration: %s: multicast probe send %d: %w", from.Name, i, err)
		}
	}
	senderDone()
	wg.Wait()
	return counts, nil
}

// multicastProbePort is below the hosts' ephemeral port range (32768 and up), so a probe cannot
// collide with a glue-mqtt data socket, and apart from the discovery port (27320).
const multicastProbePort = 27390

// MulticastReach sends count multicast datagrams from host from to a probe group and returns how
// many each host in to received: a check that multicast does (or does not) cross the segment,
// also while glue-mqtt runs on the hosts.
func (l *Lab) MulticastReach(from int, to []int, count int) ([]int, error) {
	group := &net.UDPAddr{IP: net.IPv4(239, 192, 137, 99), Port: multicastProbePort}
	var rxs []*net.UDPConn
	defer func() {
		for _, c := range rxs {
			c.Close()
		}
	}()
	for _, i := range to {
		if i == from {
			return nil, errors.New("integration: netlab: MulticastReach: a host probing itself")
		}
		c, err := l.Host(i).ListenMulticastUDP(group)
		if err != nil {
			return nil, err
		}
		rxs = append(rxs, c)
	}
	return ProbeMulticast(l.Host(from), group, rxs, count)
}
