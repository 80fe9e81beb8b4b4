package reliable

import (
	"math"
	"time"
)

// newReno is RFC 9002 section 7's congestion controller: slow start, congestion avoidance by
// byte counting, one window reduction per round trip (the recovery period) and a collapse to the
// minimum window on persistent congestion.
type newReno struct {
	window, minWindow, maxWindow, segment int
	ssthresh                              int
	recovering                            bool
	recoveryStart                         time.Time // losses of items sent before this are part of the same event
	avoidanceAcked                        int       // bytes acked in congestion avoidance since the last increase
	reductions                            uint64
}

func newNewReno(cfg Config) newReno {
	return newReno{
		window: cfg.InitialWindow, minWindow: cfg.MinWindow, maxWindow: cfg.MaxWindow,
		segment: cfg.SegmentSize, ssthresh: math.MaxInt,
	}
}

func (c *newReno) inRecovery(sentAt time.Time) bool {
	return c.recovering && !sentAt.After(c.recoveryStart)
}

func (c *newReno) slowStart() bool { return c.window < c.ssthresh }

// limited reports whether the window, rather than the application, limits sending with
// inFlight bytes outstanding; RFC 9002 7.8 says not to grow a window that is not used
// (otherwise an idle sender would accumulate a huge window and later burst).
func (c *newReno) limited(inFlight int) bool {
	if inFlight >= c.window {
		return true
	}
	if c.slowStart() && inFlight > c.window/2 {
		return true
	}
	return c.window-inFlight <= 3*c.segment
}

// canSend follows RFC 9002: send while bytes in flight are below the window, so an item larger
// than the remaining window (or the whole window) still goes out instead of blocking the queue.
func (c *newReno) canSend(inFlight int) bool { return inFlight < c.window }

func (c *newReno) onAcked(size int, sentAt time.Time, limited bool) {
	if c.inRecovery(sentAt) || !limited {
		return
	}
	if c.slowStart() {
		c.window = min(c.window+size, c.maxWindow)
		return
	}
	c.avoidanceAcked += size
	if c.avoidanceAcked >= c.window {
		c.avoidanceAcked -= c.window
		c.window = min(c.window+c.segment, c.maxWindow)
	}
}

// onLoss is a congestion event caused by losing an item last sent at sentAt; only the first
// loss of a round trip halves the window.
func (c *newReno) onLoss(sentAt, now time.Time) {
	if c.inRecovery(sentAt) {
		return
	}
	c.recovering, c.recoveryStart = true, now
	c.window = max(c.window/2, c.minWindow)
	c.ssthresh = c.window
	c.avoidanceAcked = 0
	c.reductions++
}

// onPersistentCongestion collapses the window after several probe timeouts without any ACK.
func (c *newReno) onPersistentCongestion(now time.Time) {
	if c.window > c.minWindow {
		c.ssthresh = max(c.window/2, c.minWindow)
		c.reductions++
	}
	c.window = c.minWindow
	c.recovering, c.recoveryStart = true, now
	c.avoidanceAcked = 0
}
