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
