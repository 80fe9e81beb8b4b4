package reliable

// Range is an inclusive range of sequence numbers.
type Range struct{ Lo, Hi uint64 }

// rangeSet is a sorted set of disjoint, non-adjacent ranges. The sender keeps the selectively
// acked ranges in one, so that a range repeated in every ACK costs O(log n) instead of a walk
// over every item it covers; the receiver keeps the ranges received above its cumulative point.
type rangeSet struct{ r []Range }

// add inserts [lo, hi] (lo <= hi, hi < MaxUint64) and calls visit, if non-nil, for each
// sub-range that was not in the set before, in ascending order.
func (s *rangeSet) add(lo, hi uint64, visit func(lo, hi uint64)) {
	i := s.firstTouching(lo)
	j, cursor := i, lo
	mergedLo, mergedHi := lo, hi
	for ; j < len(s.r) && s.r[j].Lo <= hi+1; j++ {
		cur := s.r[j]
		if cur.Lo > cursor && visit != nil {
			visit(cursor, min(cur.Lo-1, hi))
		}
		cursor = max(cursor, cur.Hi+1)
		mergedLo, mergedHi = min(mergedLo, cur.Lo), max(mergedHi, cur.Hi)
	}
	if cursor <= hi && visit != nil {
		visit(cursor, hi)
	}
	merged := Range{mergedLo, mergedHi}
	if i == j { // nothing touched: insert
		s.r = append(s.r, Range{})
		copy(s.r[i+1:], s.r[i:])
		s.r[i] = merged
		return
	}
	s.r[i] = merged
	s.r = append(s.r[:i+1], s.r[j:]...)
}

// firstTouching returns the index of the first range that overlaps or is adjacent to lo or lies
// above it.
func (s *rangeSet) firstTouching(lo uint64) int {
	a, b := 0, len(s.r)
	for a < b {
		m := int(uint(a+b) >> 1)
		if s.r[m].Hi+1 < lo {
			a = m + 1
		} else {
			b = m
		}
	}
	return a
}

// first returns the lowest range.
func (s *rangeSet) first() (Range, bool) {
	if len(s.r) == 0 {
		return Range{}, false
	}
	return s.r[0], true
}

// dropFirst removes the lowest range.
func (s *rangeSet) dropFirst() {
	if len(s.r) == 0 {
		return
	}
	copy(s.r, s.r[1:])
	s.r = s.r[:len(s.r)-1]
}

func (s *rangeSet) len() int { return len(s.r) }

func (s *rangeSet) clear() { s.r = s.r[:0] }
