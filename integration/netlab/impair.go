package netlab

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/glue-mqtt/glue-mqtt/mesh/faultnet"
)

// Delay, jitter and reordering happen inside glue-mqtt (the kernel here has no netem): with
// Options.Impairable, every host's glue-mqtt is started with GLUE_TEST_IMPAIR_FILE naming a
// rules file of its own, which it re-reads within ~200ms of a change (mesh/faultnet). Impair
// writes the rule for one directed link into the sender's file and waits until the sender's
// glue-mqtt has logged that version as in force.

// impairWait bounds the wait for a glue-mqtt to put a new rules file in force (it polls every
// faultnet.PollInterval).
const impairWait = 10 * time.Second

// ImpairFile is the rules file of host h's glue-mqtt (GLUE_TEST_IMPAIR_FILE).
func (l *Lab) ImpairFile(h *Host) string {
	return filepath.Join(l.logDir, h.Name+".impair")
}

// Impair damages the mesh datagrams host link.From's glue-mqtt sends to link.To with spec (a
// faultnet spec: "delay=80ms,jitter=5ms,reorder=0.1,loss=0.1,dup=0.05"), replacing any earlier
// spec of that link; "" removes it (see ClearImpair). Frames on the wire are untouched: this
// acts on what glue-mqtt sends, so it needs the Lab built with Options.Impairable. When the
// sender runs, Impair returns once it has put the change in force.
func (l *Lab) Impair(link Link, spec string) error {
	if !l.impairable {
		return errors.New("integration: netlab: Impair needs a Lab built with Options{Impairable: true}")
	}
	if err := l.checkLink(link, 0); err != nil {
		return err
	}
	if _, err := faultnet.Parse(spec); err != nil {
		return fmt.Errorf("integration: netlab: impair %v: %w", link, err)
	}
	l.impairMu.Lock()
	defer l.impairMu.Unlock()
	if spec == "" {
		delete(l.impairs, link)
	} else {
		l.impairs[link] = spec
	}
	from := l.Host(link.From)
	content := l.impairRules(link.From)
	if err := writeAtomically(l.ImpairFile(from), content); err != nil {
		return fmt.Errorf("integration: netlab: impair %v: %w", link, err)
	}
	p := from.Process()
	if p == nil || p.Exited() {
		return nil // read when it starts
	}
	want := faultnet.Digest(content)
	ctx, cancel := context.WithTimeout(context.Background(), impairWait)
	defer cancel()
	for {
		if got, ok := p.ImpairmentDigest(); ok && got == want {
			return nil
		}
		if p.Exited() {
			return fmt.Errorf("integration: netlab: impair %v: %s's glue-mqtt exited", link, from.Name)
		}
		select {
		case <-ctx.Done():
			got, _ := p.ImpairmentDigest()
			return fmt.Errorf("integration: netlab: impair %v: %s's glue-mqtt did not load rules %s within %v (last %q)", link, from.Name, want, impairWait, got)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// ClearImpair removes the impairment of link.
func (l *Lab) ClearImpair(link Link) error { return l.Impair(link, "") }

// impairRules renders host from's rules file.
func (l *Lab) impairRules(from int) []byte {
	var links []Link
	for k := range l.impairs {
		if k.From == from {
			links = append(links, k)
		}
	}
	sort.Slice(links, func(i, j int) bool { return links[i].To < links[j].To })
	var b strings.Builder
	fmt.Fprintf(&b, "# netlab %s: impairment of what h%d sends, per destination (mesh/faultnet rules)\n", l.Prefix, from)
	for _, k := range links {
		fmt.Fprintf(&b, "%s/32 %s\n", l.Host(k.To).Addr, l.impairs[k])
	}
	return []byte(b.String())
}

// writeAtomically replaces path with content through a rename, so a reader never sees half a
// file and always sees a new file (faultnet notices the change by the file's identity too).
func writeAtomically(path string, content []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, content, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
