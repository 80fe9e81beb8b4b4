package reliable

import "time"

// Loss-detection thresholds. RFC 9002 fixes them at 3 transmissions and 9/8 of the RTT; like
// Linux's RACK, a channel that sees a declared loss turn out spurious (the item was acked after
// all: the network reordered it) widens them, up to these limits, so a reordering path does not
// keep retransmitting and halving its window for nothing.
const (
	initialReorderPackets = 3  // RFC 9002 kPacketThreshold
	maxReorderPackets     = 64 // beyond this, the time threshold does the work
	initialLossEighths    = 9  // RFC 9002 kTimeThreshold = 9/8
	maxLossEighths        = 16 // at most 2 RTTs: loss recovery must stay timely
)

// reorderTolerance holds the current loss-detection thresholds.
type reorderTolerance struct {
	packets uint64 // an item is lost once this many later transmissions are acked
	eighths int64  // ... or after eighths/8 of max(srtt, latest_rtt)
}

func newReorderTolerance(Config) reorderTolerance {
	return reorderTolerance{packets: initialReorderPackets, eighths: initialLossEighths}
}

// widen adapts to a spurious loss declared when gap later transmissions had been acked.
func (r *reorderTolerance) widen(gap uint64) {
	r.packets = min(max(r.packets, gap+1), maxReorderPackets)
	r.eighths = min(r.eighths+1, maxLossEighths)
}

func (r *reorderTolerance) lossDelay(e *rttEstimator) time.Duration {
	return max(time.Duration(r.eighths)*max(e.srtt(), e.latest)/8, timerGranularity)
}
