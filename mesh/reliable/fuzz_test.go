package reliable

import (
	"encoding/binary"
	"fmt"
	"testing"
	"time"
)

// checkInvariants recomputes the sender's accounting from its items and compares.
func (s *Sender[T]) checkInvariants() error {
	if s.inFlightBytes < 0 || s.inFlightItems < 0 || s.unackedBytes < 0 || s.unackedItems < 0 || s.queuedBytes < 0 {
		return fmt.Errorf("negative accounting: %+v", s.Stats())
	}
	if s.base > s.nextSeq || s.nextSeq-s.base > uint64(s.cfg.MaxInFlight) {
		return fmt.Errorf("window [%d,%d) exceeds %d", s.base, s.nextSeq, s.cfg.MaxInFlight)
	}
	var unackedBytes, unackedItems, flightBytes, flightItems int
	for seq := s.base; seq < s.nextSeq; seq++ {
		it := s.sent.at(seq)
		if it.acked {
			continue
		}
		unackedBytes += it.size
		unackedItems++
		if it.inFlight {
			flightBytes += it.size
			flightItems++
		}
	}
	if seq := s.base; seq < s.nextSeq && s.sent.at(seq).acked {
		return fmt.Errorf("base %d is acked", seq)
	}
	listed, lastPN := 0, uint64(0)
	for seq := s.sendHead; seq != 0; seq = s.sent.at(seq).next {
		it := s.sent.at(seq)
		if !it.inFlight || it.acked || it.pn <= lastPN {
			return fmt.Errorf("send list: seq %d inFlight %v acked %v pn %d after %d", seq, it.inFlight, it.acked, it.pn, lastPN)
		}
		lastPN = it.pn
		if listed++; listed > flightItems {
			return fmt.Errorf("send list longer than %d in-flight items", flightItems)
		}
	}
	if listed != flightItems || flightItems != s.inFlightItems || flightBytes != s.inFlightBytes ||
		unackedItems != s.unackedItems || unackedBytes != s.unackedBytes {
		return fmt.Errorf("accounting: listed %d, flight %d/%d items %d/%d bytes, unacked %d/%d items %d/%d bytes",
			listed, flightItems, s.inFlightItems, flightBytes, s.inFlightBytes, unackedItems, s.unackedItems, unackedBytes, s.unackedBytes)
	}
	if held := s.queuedBytes + s.unackedBytes; held > s.cfg.MaxQueuedBytes && s.queue.len()+s.unackedItems > 1 {
		return fmt.Errorf("holding %d bytes over the bound %d", held, s.cfg.MaxQueuedBytes)
	}
	return nil
}

// FuzzSenderAcks drives a Sender with arbitrary operations and ACKs, bogus ones included, and
// checks that the accounting stays exact and that exactly the items some ACK named are freed.
func FuzzSenderAcks(f *testing.F) {
	f.Add([]byte{0, 0, 0, 1, 1, 1, 2, 3, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{0, 0, 0, 0, 1, 2, 1, 5, 0, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 3, 3})
	f.Add([]byte{0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 4, 200, 2, 255, 255, 255, 255, 255, 255, 255, 255, 3})
	f.Fuzz(func(t *testing.T, ops []byte) {
		cfg := DefaultConfig()
		cfg.MaxInFlight, cfg.MaxQueuedBytes, cfg.InitialWindow, cfg.MinWindow = 32, 20_000, 4000, 2000
		s := NewSender[int](cfg)
		now := epoch
		enqueued := 0
		itemOfSeq := map[uint64]int{} // bounded by the fuzz input length
		ackedItems := map[int]bool{}
		named := func(lo, hi uint64) { // what a (possibly bogus) ACK legitimately frees
			for seq, item := range itemOfSeq {
				if seq >= lo && seq <= hi {
					ackedItems[item] = true
				}
			}
		}
		for len(ops) > 0 {
			op := ops[0]
			ops = ops[1:]
			switch op % 5 {
			case 0:
				if s.Enqueue(enqueued, 1+int(op)*7, now) {
					enqueued++
				}
			case 1:
				if seq, item, ok := s.Next(now); ok {
					if prev, seen := itemOfSeq[seq]; seen && prev != item {
						t.Fatalf("seq %d carried item %d, then %d", seq, prev, item)
					}
					itemOfSeq[seq] = item
				}
			case 2: // ACK: cumulative, then ranges from the following bytes
				if len(ops) < 2 {
					return
				}
				cum := uint64(ops[0] % 40)
				if ops[0] == 255 {
					cum = ^uint64(0) >> 1
				}
				n := int(ops[1] % 6)
				ops = ops[2:]
				var ranges []Range
				for i := 0; i < n && len(ops) >= 2; i++ {
					ranges = append(ranges, Range{uint64(ops[0] % 40), uint64(ops[1] % 40)})
					ops = ops[2:]
				}
				named(1, cum)
				for _, r := range ranges {
					named(r.Lo, r.Hi)
				}
				s.OnAck(cum, ranges, time.Duration(op)*time.Millisecond, now)
			case 3:
				if len(ops) >= 2 {
					now = now.Add(time.Duration(binary.LittleEndian.Uint16(ops)) * 100 * time.Microsecond)
					ops = ops[2:]
				}
			case 4:
				s.OnTimer(now)
				_ = s.Failed(now)
			}
			if err := s.checkInvariants(); err != nil {
				t.Fatal(err)
			}
		}
		// Every enqueued item is either freed by an ACK that named it, or still held.
		dropped := s.Drain()
		held := map[int]bool{}
		for _, item := range dropped {
			held[item] = true
		}
		for item := 0; item < enqueued; item++ {
			if held[item] == ackedItems[item] {
				t.Fatalf("item %d: held %v, acked %v", item, held[item], ackedItems[item])
			}
		}
		if err := s.checkInvariants(); err != nil || s.Pending() {
			t.Fatalf("after Drain: %v, pending %v", err, s.Pending())
		}
	})
}
