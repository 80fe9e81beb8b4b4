package topicfilter

import (
	"slices"
	"strings"
	"testing"
)

func TestSetReferenceCounting(t *testing.T) {
	s := NewSet()
	if !s.Add("a/+") {
		t.Fatal("first Add should report added")
	}
	if s.Add("a/+") {
		t.Fatal("second Add of the same filter should not report added")
	}
	if s.Len() != 1 {
		t.Fatalf("Len = %d, want 1", s.Len())
	}
	if s.Remove("a/+") {
		t.Fatal("Remove with a reference left should not report removed")
	}
	if !s.Matches("a/b") {
		t.Fatal("filter with one reference left should still match")
	}
	if !s.Remove("a/+") {
		t.Fatal("Remove of the last reference should report removed")
	}
	if s.Remove("a/+") || s.Remove("never/added") {
		t.Fatal("Remove of an absent filter should report false")
	}
	if s.Len() != 0 || s.Matches("a/b") {
		t.Fatal("set should be empty")
	}
}

func TestSetIgnoresInvalidFilters(t *testing.T) {
	s := NewSet()
	for _, f := range []string{"", "a/#/b", "a+", "x\x00"} {
		if s.Add(f) {
			t.Errorf("Add(%q) of an invalid filter reported added", f)
		}
	}
	if s.Len() != 0 {
		t.Fatalf("Len = %d after adding only invalid filters", s.Len())
	}
}

func TestSetFiltersSortedAndDigestOrderIndependent(t *testing.T) {
	a, b := NewSet(), NewSet()
	in := []string{"z", "a/#", "+/b", "$SYS/#", "a//b", "/"}
	for _, f := range in {
		a.Add(f)
	}
	for i := len(in) - 1; i >= 0; i-- {
		b.Add(in[i])
		b.Add(in[i]) // reference counts do not affect the digest
	}
	want := slices.Clone(in)
	slices.Sort(want)
	if got := a.Filters(); !slices.Equal(got, want) {
		t.Fatalf("Filters = %q, want %q", got, want)
	}
	if a.Digest() != b.Digest() {
		t.Fatal("digest depends on insertion order or reference counts")
	}
	if a.Digest() != DigestOf(want) {
		t.Fatal("Digest differs from DigestOf(Filters())")
	}
	b.Remove("z")
	b.Remove("z")
	if a.Digest() == b.Digest() {
		t.Fatal("digest did not change when a filter was removed")
	}
	// The separator keeps {"a","b"} and {"ab"}-like splits apart.
	if DigestOf([]string{"a/", "b"}) == DigestOf([]string{"a", "/b"}) {
		t.Fatal("digest does not separate filters")
	}
	if NewSet().Digest() != DigestOf(nil) {
		t.Fatal("empty set digest mismatch")
	}
}

func TestSetReplace(t *testing.T) {
	s := NewSet()
	s.Add("old/#")
	s.Add("keep")
	s.Add("keep")
	s.Replace([]string{"keep", "new/+", "new/+", "bad/#/x"})
	if got, want := s.Filters(), []string{"keep", "new/+"}; !slices.Equal(got, want) {
		t.Fatalf("Filters after Replace = %q, want %q", got, want)
	}
	if s.Matches("old/x") || !s.Matches("new/x") {
		t.Fatal("Replace did not replace the matching filters")
	}
	if !s.Remove("keep") {
		t.Fatal("Replace should reset reference counts to 1")
	}
	if !s.Contains("new/+") || s.Contains("keep") {
		t.Fatal("Contains disagrees with contents")
	}
}

// Removing filters must prune the trie so that nothing matches through stale nodes.
func TestSetRemovePrunes(t *testing.T) {
	s := NewSet()
	filters := []string{"a/b/c", "a/b/#", "a/+/c", "a/#", "+/b", "#", "a", "a/b"}
	for _, f := range filters {
		s.Add(f)
	}
	for _, f := range filters {
		s.Remove(f)
	}
	r := &s.t.root
	if !r.empty() {
		t.Fatalf("root not empty after removing everything: %+v", r)
	}
	if s.Matches("a/b/c") {
		t.Fatal("empty set matched")
	}
}

// The longest legal topic has 65536 empty levels; matching recurses per level and must cope.
func TestSetDeepestTopic(t *testing.T) {
	deep := strings.Repeat("/", MaxLen)
	s := NewSet()
	s.Add(deep)
	s.Add(strings.Repeat("+/", MaxLen/2) + "#")
	if !s.Matches(deep) {
		t.Fatal("deepest topic did not match itself")
	}
	if !s.Remove(deep) || !s.Matches(deep) {
		t.Fatal("after removing the exact filter, the wildcard filter should still match")
	}
	// The filter has 32767 '+' levels; '#' also matches their parent, so a topic of exactly 32767
	// levels (32766 slashes) matches and one level fewer does not.
	wild := strings.Repeat("+/", MaxLen/2) + "#"
	for _, tt := range []struct {
		topic string
		want  bool
	}{{deep[:MaxLen/2-1], true}, {deep[:MaxLen/2-2], false}} {
		if got := s.Matches(tt.topic); got != tt.want || Match(wild, tt.topic) != tt.want {
			t.Fatalf("topic of %d levels: Set.Matches = %v, Match = %v, want %v",
				len(tt.topic)+1, got, Match(wild, tt.topic), tt.want)
		}
	}
}
