package faultnet

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/netip"
	"strings"
)

// Rule impairs the datagrams sent to the destinations it matches.
type Rule struct {
	Any         bool         // "*": every destination (the least specific rule)
	Prefix      netip.Prefix // otherwise: the destination addresses it matches
	Impairment  Impairment
	Line        int    // line in the rules text, for messages
	Destination string // as written
}

// Rules is the content of a rules file, in file order.
type Rules []Rule

// maxRules bounds a rules file: it is read by the sending goroutine and scanned per datagram.
const maxRules = 1024

// ParseRules reads one rule per line: a destination, then a faultnet spec (see Parse), separated
// by white space. The destination is "*" (every destination), an IP prefix (169.254.77.2/32,
// fd00::/64) or an address (the same as its /32 or /128). A rule with an empty spec leaves its
// destinations unimpaired. Blank lines and lines starting with # are ignored.
//
//	# h1's links
//	169.254.77.2       delay=80ms,jitter=5ms
//	169.254.77.0/24    reorder=0.1
//	*                  loss=0.01
func ParseRules(text string) (Rules, error) {
	var rules Rules
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 4096), 1<<16)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if len(rules) == maxRules {
			return nil, fmt.Errorf("faultnet: more than %d rules", maxRules)
		}
		dest, spec := line, ""
		if i := strings.IndexAny(line, " \t"); i >= 0 {
			dest, spec = line[:i], line[i+1:]
		}
		r := Rule{Line: n, Destination: dest}
		switch {
		case dest == "*":
			r.Any = true
		case strings.Contains(dest, "/"):
			p, err := netip.ParsePrefix(dest)
			if err != nil {
				return nil, fmt.Errorf("faultnet: line %d: destination: %w", n, err)
			}
			if p.Addr().Is4In6() {
				return nil, fmt.Errorf("faultnet: line %d: destination %s: write IPv4 prefixes as IPv4", n, dest)
			}
			r.Prefix = p.Masked()
		default:
			a, err := netip.ParseAddr(dest)
			if err != nil {
				return nil, fmt.Errorf("faultnet: line %d: destination: %w", n, err)
			}
			a = a.Unmap()
			r.Prefix = netip.PrefixFrom(a, a.BitLen())
		}
		im, err := Parse(spec)
		if err != nil {
			return nil, fmt.Errorf("faultnet: line %d: %w", n, err)
		}
		r.Impairment = im
		rules = append(rules, r)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("faultnet: reading rules: %w", err)
	}
	return rules, nil
}

// For returns the impairment of the most specific rule that matches dst (the longest prefix;
// "*" is the least specific; among equals the first), and whether any matched.
func (rs Rules) For(dst netip.Addr) (Impairment, bool) {
	dst = dst.Unmap()
	best, bits := -1, -2
	for i, r := range rs {
		b := -1
		if !r.Any {
			if !r.Prefix.Contains(dst) {
				continue
			}
			b = r.Prefix.Bits()
		}
		if b > bits {
			best, bits = i, b
		}
	}
	if best < 0 {
		return Impairment{}, false
	}
	return rs[best].Impairment, true
}

// Digest identifies the content of a rules file in the log line that says it was loaded, so
// whoever wrote the file can tell when it took effect: the first 8 bytes of its SHA-256, in hex.
func Digest(content []byte) string {
	sum := sha256.Sum256(content)
	return hex.EncodeToString(sum[:8])
}
