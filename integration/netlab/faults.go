package netlab

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Link is one direction between two hosts (1-based indices).
type Link struct{ From, To int }

func (k Link) String() string { return fmt.Sprintf("h%d->h%d", k.From, k.To) }

// faultState is what the switch namespace's nft ruleset must say. Every change regenerates the
// whole ruleset and loads it in one nft transaction ("flush ruleset" included: the switch
// namespace belongs to the Lab, nothing else has rules there).
type faultState struct {
	loss           map[Link]float64
	duplicate      map[Link]float64
	blocked        map[Link]bool
	blockMulticast bool
}

// probabilityScale is the modulus of nft's "numgen random": probabilities are applied in
// millionths.
const probabilityScale = 1000000

// SetLoss drops each frame on link with probability p (0 removes the rule). Multicast frames
// (beacons) are dropped per destination port too.
func (l *Lab) SetLoss(link Link, p float64) error {
	return l.changeFaults(func(f *faultState) error {
		if err := l.checkLink(link, p); err != nil {
			return err
		}
		setProbability(&f.loss, link, p)
		return nil
	})
}

// SetDuplicate sends each unicast IPv4 frame on link a second time with probability p (0 removes
// the rule). The copy leaves the switch at once, so it may also overtake the original.
func (l *Lab) SetDuplicate(link Link, p float64) error {
	return l.changeFaults(func(f *faultState) error {
		if err := l.checkLink(link, p); err != nil {
			return err
		}
		setProbability(&f.duplicate, link, p)
		return nil
	})
}

// SetLossAll and SetDuplicateAll apply p on every directed link between two hosts.
func (l *Lab) SetLossAll(p float64) error {
	for _, k := range l.allLinks() {
		if err := l.SetLoss(k, p); err != nil {
			return err
		}
	}
	return nil
}

// SetDuplicateAll: see SetLossAll.
func (l *Lab) SetDuplicateAll(p float64) error {
	for _, k := range l.allLinks() {
		if err := l.SetDuplicate(k, p); err != nil {
			return err
		}
	}
	return nil
}

// Partition cuts every link between hosts of different groups (both directions, multicast
// included). Hosts named in no group keep all their links. It replaces any earlier partition.
func (l *Lab) Partition(groups ...[]int) error {
	return l.changeFaults(func(f *faultState) error {
		side := map[int]int{}
		for g, hosts := range groups {
			for _, i := range hosts {
				if i < 1 || i > len(l.Hosts) {
					return fmt.Errorf("integration: netlab: partition: no host %d", i)
				}
				side[i] = g + 1
			}
		}
		f.blocked = map[Link]bool{}
		for _, k := range l.allLinks() {
			a, b := side[k.From], side[k.To]
			if a != 0 && b != 0 && a != b {
				f.blocked[k] = true
			}
		}
		return nil
	})
}

// Heal removes the partition.
func (l *Lab) Heal() error {
	return l.changeFaults(func(f *faultState) error {
		f.blocked = nil
		return nil
	})
}

// BlockMulticast drops (or, with false, passes again) every IPv4 multicast frame on the segment.
func (l *Lab) BlockMulticast(block bool) error {
	return l.changeFaults(func(f *faultState) error {
		f.blockMulticast = block
		return nil
	})
}

// ClearFaults removes every nft rule of the Lab.
func (l *Lab) ClearFaults() error {
	return l.changeFaults(func(f *faultState) error {
		*f = faultState{}
		return nil
	})
}

// Ruleset returns the switch namespace's current nft ruleset as nft lists it.
func (l *Lab) Ruleset() (string, error) {
	out, err := runToolOutput("ip", "netns", "exec", l.Switch, "nft", "list", "ruleset")
	return out, err
}

func (l *Lab) allLinks() []Link {
	var links []Link
	for _, a := range l.Hosts {
		for _, b := range l.Hosts {
			if a != b {
				links = append(links, Link{a.Index, b.Index})
			}
		}
	}
	return links
}

func (l *Lab) checkLink(k Link, p float64) error {
	if k.From < 1 || k.From > len(l.Hosts) || k.To < 1 || k.To > len(l.Hosts) || k.From == k.To {
		return fmt.Errorf("integration: netlab: bad link %v", k)
	}
	if p < 0 || p > 1 {
		return fmt.Errorf("integration: netlab: probability %v not in [0,1]", p)
	}
	return nil
}

func setProbability(m *map[Link]float64, k Link, p float64) {
	if *m == nil {
		*m = map[Link]float64{}
	}
	if p == 0 {
		delete(*m, k)
		return
	}
	(*m)[k] = p
}

func (l *Lab) changeFaults(change func(*faultState) error) error {
	l.faultsMu.Lock()
	defer l.faultsMu.Unlock()
	next := l.faults.clone()
	if err := change(&next); err != nil {
		return err
	}
	script := next.ruleset(l)
	if err := runTool([]byte(script), "ip", "netns", "exec", l.Switch, "nft", "-f", "-"); err != nil {
		return fmt.Errorf("integration: netlab: loading nft rules: %w", err)
	}
	l.faults = next
	return nil
}

func (f faultState) clone() faultState {
	c := faultState{blockMulticast: f.blockMulticast}
	for k, v := range f.loss {
		setProbability(&c.loss, k, v)
	}
	for k, v := range f.duplicate {
		setProbability(&c.duplicate, k, v)
	}
	for k := range f.blocked {
		if c.blocked == nil {
			c.blocked = map[Link]bool{}
		}
		c.blocked[k] = true
	}
	return c
}

func sortedLinks[V any](m map[Link]V) []Link {
	links := make([]Link, 0, len(m))
	for k := range m {
		links = append(links, k)
	}
	sort.Slice(links, func(i, j int) bool {
		if links[i].From != links[j].From {
			return links[i].From < links[j].From
		}
		return links[i].To < links[j].To
	})
	return links
}

func threshold(p float64) int { return int(p*probabilityScale + 0.5) }

// ruleset renders the state as one nft script. Partitions come first (a blocked frame is never
// counted as lost), then the multicast block, then loss. Duplication happens at the ingress of
// the sender's port, before the bridge: a blocked link gets no duplicates, so a copy can never
// leak through a partition or a multicast block (duplication is unicast only).
func (f faultState) ruleset(l *Lab) string {
	var b strings.Builder
	b.WriteString("flush ruleset\n")
	b.WriteString("table bridge netlab {\n  chain forward_filter {\n    type filter hook forward priority 0; policy accept;\n")
	for _, k := range sortedLinks(f.blocked) {
		fmt.Fprintf(&b, "    iifname %q oifname %q counter drop comment \"partition\"\n", l.Hosts[k.From-1].Port, l.Hosts[k.To-1].Port)
	}
	if f.blockMulticast {
		b.WriteString("    ip daddr 224.0.0.0/4 counter drop comment \"multicast\"\n")
	}
	for _, k := range sortedLinks(f.loss) {
		fmt.Fprintf(&b, "    iifname %q oifname %q numgen random mod %d < %d counter drop comment \"loss\"\n",
			l.Hosts[k.From-1].Port, l.Hosts[k.To-1].Port, probabilityScale, threshold(f.loss[k]))
	}
	b.WriteString("  }\n}\n")
	byPort := map[int][]Link{}
	for _, k := range sortedLinks(f.duplicate) {
		if !f.blocked[k] {
			byPort[k.From] = append(byPort[k.From], k)
		}
	}
	if len(byPort) > 0 {
		b.WriteString("table netdev netlab {\n")
		for from := 1; from <= len(l.Hosts); from++ {
			links := byPort[from]
			if len(links) == 0 {
				continue
			}
			port := l.Hosts[from-1].Port
			fmt.Fprintf(&b, "  chain ingress_%s {\n    type filter hook ingress device %q priority 0; policy accept;\n", port, port)
			for _, k := range links {
				to := l.Hosts[k.To-1]
				fmt.Fprintf(&b, "    ip daddr %s numgen random mod %d < %d counter dup to %q comment \"duplicate\"\n",
					to.Addr, probabilityScale, threshold(f.duplicate[k]), to.Port)
			}
			b.WriteString("  }\n")
		}
		b.WriteString("}\n")
	}
	return b.String()
}

// FaultCounters returns how many frames the Lab's rules have hit since they were last loaded, by
// kind: "loss", "duplicate", "partition", "multicast". Every change of faults reloads the rules
// and so restarts the counts.
func (l *Lab) FaultCounters() (map[string]int64, error) {
	rules, err := l.Ruleset()
	if err != nil {
		return nil, err
	}
	counts := map[string]int64{}
	for _, line := range strings.Split(rules, "\n") {
		m := counterLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		n, _ := strconv.ParseInt(m[1], 10, 64)
		counts[m[2]] += n
	}
	return counts, nil
}

var counterLine = regexp.MustCompile(`counter packets (\d+) bytes \d+ .*comment "(\w+)"`)
