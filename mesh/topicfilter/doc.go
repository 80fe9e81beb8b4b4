// Package topicfilter implements MQTT topic names, topic filters and their matching, exactly as
// MQTT 3.1.1 and MQTT 5 section 4.7 define them. The mesh uses the same semantics as MQTT, so this
// one package serves both the mesh (interest routing: which peers want a topic; dispatching a topic
// to local subscriptions) and the MQTT mapping layer.
//
// Rules, in short:
//
//   - A topic name is 1 to 65535 bytes of valid UTF-8 without U+0000 and without the wildcard
//     characters '+' and '#'. Apart from that it is opaque: empty levels ("a//b", "/", "//"),
//     leading or trailing '/', '.', spaces and any other UTF-8 are ordinary characters.
//   - A topic filter follows the same length, UTF-8 and NUL rules, and may contain wildcards:
//     '+' must occupy a whole level and matches exactly one level, including an empty one;
//     '#' must occupy the whole last level and matches the parent level and any number of levels
//     below it ("sport/#" matches "sport", "sport/" and "sport/tennis/player1").
//   - A filter whose first level is a wildcard ('+' or '#') never matches a topic name that starts
//     with '$' ("#" and "+/x" do not match "$SYS/x"; "$SYS/#" does). This keeps server-internal
//     topics out of catch-all subscriptions.
//
// Match compares one filter with one topic. Set is a reference-counted multiset of filters (one
// peer's or one host's interest) and Index maps filters to values (local subscriptions); both keep
// their filters in a trie keyed by level, so matching a topic costs O(levels of the topic), not
// O(number of filters). (Strictly, it visits the trie nodes on matching paths: each level can
// follow both the exact and the '+' branch, so the cost is bounded by the trie size, never by a
// scan of all filters.)
//
// Invalid input never matches and is never stored: Match returns false when the filter or the
// topic is invalid, and Set and Index ignore invalid filters. Callers that want to report the
// reason validate first with ValidateFilter and ValidateTopic.
//
// Set and Index are not safe for concurrent use; callers serialise access (typically with the
// mutex that already guards the peer or subscription table). Their size is bounded only by what
// callers add, so callers that fill them from the network must cap the number of filters.
package topicfilter
