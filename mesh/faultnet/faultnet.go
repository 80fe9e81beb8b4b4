package faultnet

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Impairment says how to damage outgoing datagrams.
type Impairment struct {
	Loss      float64       // probability a datagram is dropped
	Duplicate float64       // probability a datagram is sent twice
	Reorder   float64       // probability a datagram gets an extra delay of 2 x (Delay + Jitter) + 1ms, so later ones overtake it
	Delay     time.Duration // base delay of every datagram
	Jitter    time.Duration // uniform extra delay in [0, Jitter)
}

// Zero reports whether the impairment does nothing.
func (im Impairment) Zero() bool { return im == Impairment{} }

// Parse reads "loss=0.1,dup=0.05,delay=2ms,jitter=3ms,reorder=0.1" (any subset, any order).
func Parse(s string) (Impairment, error) {
	var im Impairment
	for _, kv := range strings.Split(s, ",") {
		kv = strings.TrimSpace(kv)
		if kv == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return im, fmt.Errorf("faultnet: %q: want key=value", kv)
		}
		var err error
		switch k {
		case "loss":
			im.Loss, err = probability(v)
		case "dup":
			im.Duplicate, err = probability(v)
		case "reorder":
			im.Reorder, err = probability(v)
		case "delay":
			im.Delay, err = time.ParseDuration(v)
		case "jitter":
			im.Jitter, err = time.ParseDuration(v)
		default:
			return im, fmt.Errorf("faultnet: unknown impairment %q (want loss, dup, reorder, delay, jitter)", k)
		}
		if err != nil {
			return im, fmt.Errorf("faultnet: %s: %w", k, err)
		}
		if im.Delay < 0 || im.Jitter < 0 {
			return im, fmt.Errorf("faultnet: %s: negative duration", k)
		}
	}
	return im, nil
}

func probability(v string) (float64, error) {
	p, err := strconv.ParseFloat(v, 64)
	if err != nil || p < 0 || p > 1 {
		return 0, fmt.Errorf("%q is not a probability in [0,1]", v)
	}
	return p, nil
}
