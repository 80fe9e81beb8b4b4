package topicfilter

import (
	"hash/fnv"
	"slices"
)

// Set is a reference-counted multiset of valid topic filters, such as the interest of one peer or
// of one host. Adding a filter twice needs two removals before it is gone. Matches costs
// O(levels of the topic). The zero value is not usable; call NewSet. Not safe for concurrent use.
type Set struct {
	t trie[int] // value: reference count
}

// NewSet returns an empty Set.
func NewSet() *Set { return &Set{} }

// Add adds one reference to filter and reports whether it is the first one (the set of distinct
// filters changed). Invalid filters are ignored and report false.
func (s *Set) Add(filter string) (added bool) {
	if ValidateFilter(filter) != nil {
		return false
	}
	n := s.t.insert(filter)
	n.value++
	return n.value == 1
}

// Remove drops one reference to filter and reports whether it was the last one (the set of
// distinct filters changed). Removing a filter that is not present reports false.
func (s *Set) Remove(filter string) (removed bool) {
	n := s.t.find(filter)
	if n == nil {
		return false
	}
	if n.value > 1 {
		n.value--
		return false
	}
	return s.t.remove(filter)
}

// Contains reports whether filter is in the set (compared as a string, not by matching).
func (s *Set) Contains(filter string) bool { return s.t.find(filter) != nil }

// Matches reports whether any filter in the set matches the topic name. Invalid topics match
// nothing.
func (s *Set) Matches(topic string) bool {
	if s.t.size == 0 || ValidateTopic(topic) != nil {
		return false
	}
	found := false
	s.t.match(topic, func(*node[int]) bool {
		found = true
		return false
	})
	return found
}

// Filters returns the distinct filters, sorted.
func (s *Set) Filters() []string {
	out := make([]string, 0, s.t.size)
	s.t.root.each(func(n *node[int]) { out = append(out, n.filter) })
	slices.Sort(out)
	return out
}

// Len returns the number of distinct filters.
func (s *Set) Len() int { return s.t.size }

// Digest returns an order-independent digest of the distinct filters (reference counts do not
// count): FNV-1a 64 over the sorted filters, each followed by a NUL byte. Valid filters cannot
// contain NUL, so distinct sets give distinct inputs. Peers compare digests to detect that their
// copy of each other's interest is stale.
func (s *Set) Digest() uint64 {
	return DigestOf(s.Filters())
}

// DigestOf returns the Digest a Set holding exactly the given sorted, distinct filters would have.
func DigestOf(sortedFilters []string) uint64 {
	h := fnv.New64a()
	for _, f := range sortedFilters {
		h.Write([]byte(f))
		h.Write([]byte{0})
	}
	return h.Sum64()
}

// Replace makes the set hold exactly the given filters, each with one reference. Duplicates
// collapse and invalid filters are ignored.
func (s *Set) Replace(filters []string) {
	s.t = trie[int]{}
	for _, f := range filters {
		if ValidateFilter(f) == nil {
			s.t.insert(f).value = 1
		}
	}
}
