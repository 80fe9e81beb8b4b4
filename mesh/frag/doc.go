// Package frag splits mesh messages into datagram-sized fragments and reassembles them under a
// global memory budget.
//
// Split and Count are pure functions. A Reassembler is a state machine without I/O, goroutines
// or timers: time is passed in as `now`, and the caller asks NextExpiry when to call Expire. It
// is not safe for concurrent use; it is meant to be driven by one goroutine (the endpoint's
// loop), which is why it needs no locks.
//
// Memory is bounded: partial messages hold at most Config.Budget bytes (fragment data plus
// bookkeeping) and there are at most Config.MaxPartials of them; a fragment that would exceed
// either is refused, and the caller treats it as lost.
package frag
