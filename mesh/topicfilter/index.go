package topicfilter

// Index maps valid topic filters to sets of values, for dispatching a published topic to the
// local subscriptions whose filters match it. Each (filter, value) pair is stored once. Lookup
// costs O(levels of the topic + matches). The zero value is not usable; call NewIndex. Not safe
// for concurrent use.
type Index[V comparable] struct {
	t     trie[map[V]struct{}]
	pairs int
}

// NewIndex returns an empty Index.
func NewIndex[V comparable]() *Index[V] { return &Index[V]{} }

// Add stores the pair (filter, v); adding an existing pair changes nothing. Invalid filters are
// ignored: validate with ValidateFilter first to report them.
func (x *Index[V]) Add(filter string, v V) {
	if ValidateFilter(filter) != nil {
		return
	}
	n := x.t.insert(filter)
	if n.value == nil {
		n.value = make(map[V]struct{}, 1)
	}
	if _, ok := n.value[v]; !ok {
		n.value[v] = struct{}{}
		x.pairs++
	}
}

// Remove deletes the pair (filter, v) and reports whether it was present.
func (x *Index[V]) Remove(filter string, v V) bool {
	n := x.t.find(filter)
	if n == nil {
		return false
	}
	if _, ok := n.value[v]; !ok {
		return false
	}
	delete(n.value, v)
	x.pairs--
	if len(n.value) == 0 {
		x.t.remove(filter)
	}
	return true
}

// Lookup calls fn once for every stored pair whose filter matches the topic name, in no particular
// order. Invalid topics match nothing. fn must not modify the index.
func (x *Index[V]) Lookup(topic string, fn func(filter string, v V)) {
	if x.pairs == 0 || ValidateTopic(topic) != nil {
		return
	}
	x.t.match(topic, func(n *node[map[V]struct{}]) bool {
		for v := range n.value {
			fn(n.filter, v)
		}
		return true
	})
}

// Len returns the number of stored (filter, value) pairs.
func (x *Index[V]) Len() int { return x.pairs }

// FilterCount returns the number of distinct filters stored.
func (x *Index[V]) FilterCount() int { return x.t.size }
