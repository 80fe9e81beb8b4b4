package topicfilter

import "strings"

// node is one level of a filter trie. The path from the root spells a filter; a node is terminal
// when that filter is stored. Wildcard levels get their own fields so matching never has to look
// them up by string.
type node[T any] struct {
	children map[string]*node[T]
	plus     *node[T]
	hash     *node[T] // always terminal and childless: '#' is only valid as the last level
	terminal bool
	filter   string // the stored filter, set when terminal
	value    T
}

type trie[T any] struct {
	root node[T]
	size int // number of terminal nodes
}

func (n *node[T]) empty() bool {
	return !n.terminal && n.plus == nil && n.hash == nil && len(n.children) == 0
}

// insert returns the terminal node for a valid filter, creating the path as needed.
func (t *trie[T]) insert(filter string) *node[T] {
	n := &t.root
	rest := filter
	for {
		level, next, more := strings.Cut(rest, "/")
		n = n.child(level, true)
		if !more {
			break
		}
		rest = next
	}
	if !n.terminal {
		n.terminal = true
		n.filter = filter
		t.size++
	}
	return n
}

// find returns the terminal node for filter, or nil.
func (t *trie[T]) find(filter string) *node[T] {
	n := &t.root
	rest := filter
	for n != nil {
		level, next, more := strings.Cut(rest, "/")
		n = n.child(level, false)
		if !more {
			break
		}
		rest = next
	}
	if n == nil || !n.terminal {
		return nil
	}
	return n
}

// remove unmarks the terminal node of filter and prunes nodes that no longer lead anywhere.
func (t *trie[T]) remove(filter string) bool {
	type step struct {
		parent *node[T]
		level  string
	}
	var path []step
	n := &t.root
	rest := filter
	for n != nil {
		level, next, more := strings.Cut(rest, "/")
		path = append(path, step{n, level})
		n = n.child(level, false)
		if !more {
			break
		}
		rest = next
	}
	if n == nil || !n.terminal {
		return false
	}
	var zero T
	n.terminal, n.filter, n.value = false, "", zero
	t.size--
	for i := len(path) - 1; i >= 0 && n.empty(); i-- {
		path[i].parent.unlink(path[i].level)
		n = path[i].parent
	}
	return true
}

func (n *node[T]) child(level string, create bool) *node[T] {
	switch level {
	case "+":
		if n.plus == nil && create {
			n.plus = &node[T]{}
		}
		return n.plus
	case "#":
		if n.hash == nil && create {
			n.hash = &node[T]{}
		}
		return n.hash
	}
	c := n.children[level]
	if c == nil && create {
		if n.children == nil {
			n.children = make(map[string]*node[T])
		}
		c = &node[T]{}
		n.children[level] = c
	}
	return c
}

func (n *node[T]) unlink(level string) {
	switch level {
	case "+":
		n.plus = nil
	case "#":
		n.hash = nil
	default:
		delete(n.children, level)
	}
}

// match calls visit for every terminal node whose filter matches the valid topic name, each at
// most once, until visit returns false. It reports whether it ran to completion.
func (t *trie[T]) match(topic string, visit func(*node[T]) bool) bool {
	return t.root.walk(topic, topic[0] == '$', visit)
}

// walk matches the remaining topic levels (at least one, possibly empty) below n. noWildcard is
// set only at the root for '$' topics, which first-level wildcards must not match.
func (n *node[T]) walk(topic string, noWildcard bool, visit func(*node[T]) bool) bool {
	if n.hash != nil && !noWildcard && !visit(n.hash) {
		return false
	}
	level, rest, more := strings.Cut(topic, "/")
	if c := n.children[level]; c != nil && !c.descend(rest, more, visit) {
		return false
	}
	if n.plus != nil && !noWildcard && !n.plus.descend(rest, more, visit) {
		return false
	}
	return true
}

// descend continues matching below n after it consumed one topic level.
func (n *node[T]) descend(rest string, more bool, visit func(*node[T]) bool) bool {
	if more {
		return n.walk(rest, false, visit)
	}
	if n.terminal && !visit(n) {
		return false
	}
	// "a/#" also matches "a": the '#' below the last matched level matches the parent level.
	if n.hash != nil && !visit(n.hash) {
		return false
	}
	return true
}

// each calls fn for every terminal node, in no particular order.
func (n *node[T]) each(fn func(*node[T])) {
	if n.terminal {
		fn(n)
	}
	for _, c := range n.children {
		c.each(fn)
	}
	if n.plus != nil {
		n.plus.each(fn)
	}
	if n.hash != nil {
		n.hash.each(fn)
	}
}
