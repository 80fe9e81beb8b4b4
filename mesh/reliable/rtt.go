package reliable

import "time"

// timerGranularity is RFC 9002's kGranularity: the smallest timer or loss delay worth using.
const timerGranularity = time.Millisecond

// rttEstimator implements RFC 9002 section 5: min_rtt, smoothed_rtt and rttvar.
type rttEstimator struct {
	initial     time.Duration
	maxAckDelay time.Duration
	hasSample   bool
	latest      time.Duration
	smoothed    time.Duration
	variance    time.Duration
	minimum     time.Duration
}

func (e *rttEstimator) srtt() time.Duration {
	if !e.hasSample {
		return e.initial
	}
	return e.smoothed
}

func (e *rttEstimator) rttvar() time.Duration {
	if !e.hasSample {
		return e.initial / 2
	}
	return e.variance
}

// update folds in a sample. The peer's reported ACK delay is capped at its promised MaxAckDelay
// (a bogus or slow peer cannot shrink our RTT arbitrarily) and subtracted only if that does not
// take the sample below min_rtt.
func (e *rttEstimator) update(sample, ackDelay time.Duration) {
	sample = max(sample, 0)
	e.latest = sample
	if !e.hasSample {
		e.hasSample = true
		e.minimum, e.smoothed, e.variance = sample, sample, sample/2
		return
	}
	e.minimum = min(e.minimum, sample)
	ackDelay = min(max(ackDelay, 0), e.maxAckDelay)
	adjusted := sample
	if sample >= e.minimum+ackDelay {
		adjusted = sample - ackDelay
	}
	diff := e.smoothed - adjusted
	if diff < 0 {
		diff = -diff
	}
	e.variance = (3*e.variance + diff) / 4
	e.smoothed = (7*e.smoothed + adjusted) / 8
}

// pto is the base probe timeout (before backoff): srtt + max(4*rttvar, granularity) + max_ack_delay.
func (e *rttEstimator) pto() time.Duration {
	return e.srtt() + max(4*e.rttvar(), timerGranularity) + e.maxAckDelay
}
