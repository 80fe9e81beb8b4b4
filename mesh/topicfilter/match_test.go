package topicfilter

import "testing"

// matchCases holds every example of MQTT 3.1.1 and 5.0 section 4.7, plus empty-level and '$' cases.
var matchCases = []struct {
	filter, topic string
	want          bool
}{
	// 4.7.1.2 multi-level wildcard.
	{"sport/tennis/player1/#", "sport/tennis/player1", true},
	{"sport/tennis/player1/#", "sport/tennis/player1/ranking", true},
	{"sport/tennis/player1/#", "sport/tennis/player1/score/wimbledon", true},
	{"sport/tennis/player1/#", "sport/tennis/player2", false},
	{"sport/tennis/player1/#", "sport/tennis", false},
	{"sport/#", "sport", true},
	{"sport/#", "sport/", true},
	{"sport/#", "sports", false},
	{"#", "sport/tennis/player1", true},
	{"#", "/", true},
	{"#", "a", true},
	// 4.7.1.3 single-level wildcard.
	{"sport/tennis/+", "sport/tennis/player1", true},
	{"sport/tennis/+", "sport/tennis/player2", true},
	{"sport/tennis/+", "sport/tennis/player1/ranking", false},
	{"sport/+", "sport", false},
	{"sport/+", "sport/", true},
	{"sport/+/player1", "sport/tennis/player1", true},
	{"sport/+/player1", "sport//player1", true},
	{"+/tennis/#", "sport/tennis", true},
	{"+/tennis/#", "sport/tennis/player1/x", true},
	{"+", "sport", true},
	{"+", "/finance", false},
	{"+/+", "/finance", true},
	{"/+", "/finance", true},
	{"+/+", "a/b/c", false},
	// 4.7.2 topics beginning with '$'.
	{"#", "$SYS/monitor/Clients", false},
	{"+/monitor/Clients", "$SYS/monitor/Clients", false},
	{"$SYS/#", "$SYS/monitor/Clients", true},
	{"$SYS/#", "$SYS", true},
	{"$SYS/monitor/+", "$SYS/monitor/Clients", true},
	{"#", "$other", false},
	{"+", "$other", false},
	{"$other", "$other", true},
	{"+/#", "$SYS", false},
	{"a/#", "a/$b", true}, // only the first level is protected
	{"a/+", "a/$b", true},
	// 4.7.3 topic semantics: case sensitive, spaces, leading '/'.
	{"ACCOUNTS", "Accounts", false},
	{"Accounts payable", "Accounts payable", true},
	{"/finance", "finance", false},
	{"finance", "/finance", false},
	// Empty levels.
	{"a//b", "a//b", true},
	{"a/+/b", "a//b", true},
	{"a/b", "a//b", false},
	{"/", "/", true},
	{"+/+", "/", true},
	{"+", "/", false},
	{"//", "//", true},
	{"+/+/+", "//", true},
	{"/#", "//", true},
	{"/#", "/", true},
	{"/#", "a", false},
	{"a/", "a", false},
	{"a", "a/", false},
	{"a/#", "a", true},
	// Opaque characters.
	{"a.b/+", "a.b/c d", true},
	{"a.b", "a/b", false},
	{"東京/+/#", "東京/天気", true},
	// Invalid arguments never match.
	{"sport/tennis#", "sport/tennis#", false},
	{"a/+", "a/+", false},
	{"#", "", false},
	{"", "", false},
	{"a\x00", "a\x00", false},
}

func TestMatch(t *testing.T) {
	for _, tt := range matchCases {
		if got := Match(tt.filter, tt.topic); got != tt.want {
			t.Errorf("Match(%q, %q) = %v, want %v", tt.filter, tt.topic, got, tt.want)
		}
	}
}

// Set and Index must agree with Match on the spec table.
func TestSetAndIndexOnSpecTable(t *testing.T) {
	for _, tt := range matchCases {
		s := NewSet()
		s.Add(tt.filter)
		if got := s.Matches(tt.topic); got != tt.want {
			t.Errorf("Set{%q}.Matches(%q) = %v, want %v", tt.filter, tt.topic, got, tt.want)
		}
		x := NewIndex[int]()
		x.Add(tt.filter, 7)
		n := 0
		x.Lookup(tt.topic, func(f string, v int) {
			n++
			if f != tt.filter || v != 7 {
				t.Errorf("Index Lookup(%q) gave (%q, %d)", tt.topic, f, v)
			}
		})
		if (n == 1) != tt.want || n > 1 {
			t.Errorf("Index{%q}.Lookup(%q) called %d times, want match=%v", tt.filter, tt.topic, n, tt.want)
		}
	}
}
