package netlab

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// StartAll starts glue-mqtt on the given hosts (all when none are given), with env(h) as each
// host's environment, and waits until every one of them accepts MQTT connections.
func (l *Lab) StartAll(ctx context.Context, binary string, env func(*Host) map[string]string, hosts ...int) error {
	if len(hosts) == 0 {
		hosts = l.Indices()
	}
	for _, i := range hosts {
		if _, err := l.Host(i).Start(binary, env(l.Host(i))); err != nil {
			return err
		}
	}
	for _, i := range hosts {
		if err := l.Host(i).WaitReady(ctx); err != nil {
			return err
		}
	}
	return nil
}

// Indices returns 1..N.
func (l *Lab) Indices() []int {
	idx := make([]int, len(l.Hosts))
	for i := range idx {
		idx[i] = i + 1
	}
	return idx
}

// meshComplete reports whether each host knows every other one, and if not, what is missing.
func meshComplete(l *Lab, hosts []int) (bool, string) {
	var missing []string
	for _, i := range hosts {
		p := l.Host(i).Process()
		if p == nil || p.Exited() {
			missing = append(missing, fmt.Sprintf("%s not running", l.Host(i).Name))
			continue
		}
		for _, j := range hosts {
			if i != j && !p.Knows(l.Host(j).Name) {
				missing = append(missing, fmt.Sprintf("%s does not see %s", l.Host(i).Name, l.Host(j).Name))
			}
		}
	}
	return len(missing) == 0, strings.Join(missing, "; ")
}

// WaitMesh waits until every host in hosts knows every other one, and returns how long it took.
func (l *Lab) WaitMesh(ctx context.Context, hosts ...int) (time.Duration, error) {
	if len(hosts) == 0 {
		hosts = l.Indices()
	}
	start := time.Now()
	for {
		ok, missing := meshComplete(l, hosts)
		if ok {
			return time.Since(start), nil
		}
		select {
		case <-ctx.Done():
			return time.Since(start), fmt.Errorf("integration: mesh not complete after %v: %s", time.Since(start).Round(time.Millisecond), missing)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// WaitForgotten waits until none of the hosts in observers knows peer, and returns how long it took.
func (l *Lab) WaitForgotten(ctx context.Context, peer string, observers ...int) (time.Duration, error) {
	start := time.Now()
	for {
		var still []string
		for _, i := range observers {
			if p := l.Host(i).Process(); p != nil && p.Knows(peer) {
				still = append(still, l.Host(i).Name)
			}
		}
		if len(still) == 0 {
			return time.Since(start), nil
		}
		select {
		case <-ctx.Done():
			return time.Since(start), fmt.Errorf("integration: %s still known by %s after %v", peer, strings.Join(still, ","), time.Since(start).Round(time.Millisecond))
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// MeshCompletedAt returns when the mesh of hosts (all when none are given) became complete: the
// latest of the "peer joined" / "peer restarted" events by which each host last learnt of each
// other one, in glue-mqtt's own log time. Unlike the moment a poll notices, it does not depend
// on how fast the harness looks. The mesh must be complete (see WaitMesh).
func (l *Lab) MeshCompletedAt(hosts ...int) (time.Time, error) {
	if len(hosts) == 0 {
		hosts = l.Indices()
	}
	if ok, missing := meshComplete(l, hosts); !ok {
		return time.Time{}, fmt.Errorf("integration: mesh not complete: %s", missing)
	}
	var last time.Time
	for _, i := range hosts {
		events := l.Host(i).Process().Events()
		for _, j := range hosts {
			if i == j {
				continue
			}
			var learnt time.Time
			for _, ev := range events {
				if ev.Name == l.Host(j).Name && ev.Kind != "gone" {
					learnt = ev.At()
				}
			}
			if learnt.After(last) {
				last = learnt
			}
		}
	}
	return last, nil
}

// GoneAt returns when the host observer's glue-mqtt last logged peer as gone after since (in its
// own log time), and why.
func (l *Lab) GoneAt(observer int, peer string, since time.Time) (at time.Time, reason string, ok bool) {
	p := l.Host(observer).Process()
	if p == nil {
		return time.Time{}, "", false
	}
	for _, ev := range p.Events() {
		if ev.Name == peer && ev.Kind == "gone" && ev.Time.After(since) {
			at, reason, ok = ev.At(), ev.Reason, true
		}
	}
	return at, reason, ok
}
