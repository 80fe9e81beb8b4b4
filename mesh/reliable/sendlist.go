package reliable

// The send-order list links in-flight items by sequence number in order of their latest
// transmission (so by increasing transmission number and send time). Acks unlink in O(1);
// loss detection only ever looks at its head.

func (s *Sender[T]) linkTail(seq uint64, it *sentItem[T]) {
	it.prev, it.next = s.sendTail, 0
	if s.sendTail != 0 {
		s.sent.at(s.sendTail).next = seq
	} else {
		s.sendHead = seq
	}
	s.sendTail = seq
}

func (s *Sender[T]) unlink(seq uint64, it *sentItem[T]) {
	if it.prev != 0 {
		s.sent.at(it.prev).next = it.next
	} else {
		s.sendHead = it.next
	}
	if it.next != 0 {
		s.sent.at(it.next).prev = it.prev
	} else {
		s.sendTail = it.prev
	}
	it.prev, it.next = 0, 0
}

// leaveFlight takes an in-flight item out of the bytes in flight (acked or declared lost).
func (s *Sender[T]) leaveFlight(seq uint64, it *sentItem[T]) {
	s.unlink(seq, it)
	it.inFlight = false
	s.inFlightBytes -= it.size
	s.inFlightItems--
}
