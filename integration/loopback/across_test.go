package loopback

import (
	"bytes"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// TestTwoInstancesCarryBothWays: with two glue-mqtt processes, MQTT 3.1.1 and MQTT 5 clients on
// each receive what both kinds of client publish on the other, on exact topic names whatever their
// characters.
func TestTwoInstancesCarryBothWays(t *testing.T) {
	inst := startMesh(t, 2)
	topics := []string{"plain/topic", "a//empty/level", "/leading", "trailing/", "with space/and.dot", "utf8/é/温度"}
	for dir := 0; dir < 2; dir++ {
		from, to := inst[dir], inst[1-dir]
		subs := []subscriber{connectV3(t, to, "sub3-"+to.name), connectV5(t, to, "sub5-"+to.name)}
		pubs := []publisher{connectV3(t, from, "pub3-"+from.name), connectV5(t, from, "pub5-"+from.name)}
		prefix := uniqueTopic("both")
		for _, s := range subs {
			for _, topic := range topics {
				if got := s.subscribe(t, prefix+"/"+topic, 1); got != 1 {
					t.Fatalf("%s: granted QoS %d for %q, want 1", s.name(), got, topic)
				}
			}
		}
		start := time.Now()
		for _, p := range pubs {
			for _, topic := range topics {
				p.publishPayload(t, prefix+"/"+topic, 1, p.name()+" on "+from.name)
			}
		}
		for _, s := range subs {
			for _, p := range pubs {
				for _, topic := range topics {
					s.inbox().waitPayload(t, prefix+"/"+topic, p.name()+" on "+from.name)
				}
			}
		}
		t.Logf("%s -> %s: %d topics x 2 publishers x 2 subscribers delivered in %v", from.name, to.name,
			len(topics), time.Since(start).Round(time.Millisecond))
		listenQuiet()
		for _, s := range subs {
			if n := len(s.inbox().all()); n != len(topics)*len(pubs) {
				t.Errorf("%s got %d deliveries, want %d:%s", s.name(), n, len(topics)*len(pubs), summary(s.inbox().all()))
			}
		}
	}
}

// TestThreeInstances runs the MQTT semantics of the issue across three glue-mqtt processes, A, B
// and C, that share one mesh.
func TestThreeInstances(t *testing.T) {
	inst := startMesh(t, 3)
	a, b, c := inst[0], inst[1], inst[2]

	t.Run("Wildcards", func(t *testing.T) { testWildcards(t, a, b) })
	t.Run("QoSIsMinOfPublishAndSubscription", func(t *testing.T) { testQoSMatrix(t, a, b, c) })
	t.Run("OrderAndNoDuplicates", func(t *testing.T) { testOrder(t, a, b, c) })
	t.Run("MQTT5Properties", func(t *testing.T) { testProperties(t, a, b, c) })
	t.Run("OverlappingSubscriptionsAsLocal", func(t *testing.T) { testOverlapping(t, a, b) })
	t.Run("NoEcho", func(t *testing.T) { testNoEcho(t, a, b, c) })
	t.Run("SubscribeThenPublishNeverMissed", func(t *testing.T) { testSubscribeThenPublish(t, a, b, c) })
}

// testWildcards: + and # filters on B, and the same filters on A (the publisher's own instance,
// mochi's local answer), receive exactly the topics MQTT says they match.
func testWildcards(t *testing.T, a, b *instance) {
	p := uniqueTopic("wild")
	candidates := []string{p, p + "/", p + "/a", p + "/a/b", p + "/a/b/c", p + "/a/c", p + "/x/b", p + "//b"}
	cases := []struct {
		filter string
		want   []string
	}{
		{p + "/a/b", []string{p + "/a/b"}},
		{p + "/+/b", []string{p + "/a/b", p + "/x/b", p + "//b"}},
		{p + "/+", []string{p + "/", p + "/a"}},
		{p + "/+/+", []string{p + "/a/b", p + "/a/c", p + "/x/b", p + "//b"}},
		{p + "/a/#", []string{p + "/a", p + "/a/b", p + "/a/b/c", p + "/a/c"}}, // '#' matches the parent level
		{p + "/#", candidates},
		{"#", candidates}, // the whole network: the test's own topics only
		{"+/+/a/#", []string{p + "/a", p + "/a/b", p + "/a/b/c", p + "/a/c"}},
		// "p/+/#" is TestWildcardPlusHashMatchesParentLevel's.
	}
	type sub struct {
		where  *instance
		filter string
		want   []string
		s      subscriber
	}
	var subs []sub
	for i, tc := range cases {
		for _, where := range []*instance{a, b} {
			var s subscriber
			if i%2 == 0 {
				s = connectV3(t, where, fmt.Sprintf("wild3-%s-%d", where.name, i))
			} else {
				s = connectV5(t, where, fmt.Sprintf("wild5-%s-%d", where.name, i))
			}
			s.subscribe(t, tc.filter, 1)
			subs = append(subs, sub{where, tc.filter, tc.want, s})
		}
	}
	pub := connectV3(t, a, "wild-pub")
	for _, topic := range candidates {
		pub.publish(t, topic, 1, "to "+topic)
	}
	// Wait for every subscriber's full set, bounded; a short one is reported below with its filter.
	deadline := time.Now().Add(deliveryDeadline)
	for _, s := range subs {
		for len(s.s.inbox().all()) < len(s.want) && time.Now().Before(deadline) {
			select {
			case <-s.s.inbox().changed:
			case <-time.After(time.Until(deadline)):
			}
		}
	}
	listenQuiet()
	for _, s := range subs {
		var got []string
		for _, m := range s.s.inbox().all() {
			if m.Payload != "to "+m.Topic {
				t.Errorf("%s on %s: payload %q on %q", s.s.name(), s.where.name, m.Payload, m.Topic)
			}
			got = append(got, m.Topic)
		}
		sort.Strings(got)
		want := slices.Clone(s.want)
		sort.Strings(want)
		if !slices.Equal(got, want) {
			t.Errorf("filter %q on %s (%s): got %q, want %q", s.filter, s.where.name, s.s.name(), got, want)
		}
	}
}

// testQoSMatrix: every publish QoS against every subscription QoS, v3 subscribers on B and v5 on
// C, v3 and v5 publishers on A: the delivered QoS is min(publish, subscription).
func testQoSMatrix(t *testing.T, a, b, c *instance) {
	p := uniqueTopic("qos")
	var subs []subscriber
	for s := byte(0); s <= 2; s++ {
		for _, sc := range []subscriber{
			connectV3(t, b, fmt.Sprintf("qos3-%d", s)),
			connectV5(t, c, fmt.Sprintf("qos5-%d", s)),
		} {
			if granted := sc.subscribe(t, fmt.Sprintf("%s/%d", p, s), s); granted != s {
				t.Fatalf("%s: granted QoS %d, want %d", sc.name(), granted, s)
			}
			subs = append(subs, sc)
		}
	}
	pubs := []publisher{connectV3(t, a, "qos-pub3"), connectV5(t, a, "qos-pub5")}
	for _, pub := range pubs {
		for q := byte(0); q <= 2; q++ {
			for s := byte(0); s <= 2; s++ {
				pub.publishPayload(t, fmt.Sprintf("%s/%d", p, s), q, fmt.Sprintf("%s q%d", pub.name(), q))
			}
		}
	}
	counts := map[string]int{}
	for i, sc := range subs {
		subQoS := byte(i / 2)
		msgs := sc.inbox().waitCount(t, len(pubs)*3, deliveryDeadline)
		for _, m := range msgs {
			var pubQoS byte
			if _, err := fmt.Sscanf(m.Payload[strings.LastIndex(m.Payload, " q"):], " q%d", &pubQoS); err != nil {
				t.Fatalf("%s: payload %q", sc.name(), m.Payload)
			}
			want := min(pubQoS, subQoS)
			if m.QoS != want {
				t.Errorf("%s (subscribed QoS %d) got %q at QoS %d, want %d", sc.name(), subQoS, m.Payload, m.QoS, want)
			}
			counts[fmt.Sprintf("q%d->s%d", pubQoS, subQoS)]++
		}
	}
	listenQuiet()
	for _, sc := range subs {
		if n := len(sc.inbox().all()); n != len(pubs)*3 {
			t.Errorf("%s got %d deliveries, want %d:%s", sc.name(), n, len(pubs)*3, summary(sc.inbox().all()))
		}
	}
	t.Logf("delivered QoS checked for %d (publish QoS -> subscription QoS) pairs: %v", len(counts), counts)
}

// testOrder: 1000 QoS 1 messages from one MQTT 3.1.1 publisher and 1000 QoS 2 messages from one
// MQTT 5 publisher, each on one topic, arrive at subscribers on B and C in publish order, each
// exactly once.
func testOrder(t *testing.T, a, b, c *instance) {
	const count = 1000
	p := uniqueTopic("order")
	topic1, topic2 := p+"/q1", p+"/q2"
	subs := []subscriber{connectV3(t, b, "order-sub3"), connectV5(t, c, "order-sub5")}
	for _, s := range subs {
		s.subscribe(t, p+"/+", 2)
	}
	pub3, pub5 := connectV3(t, a, "order-pub3"), connectV5(t, a, "order-pub5")

	start := time.Now()
	done := make(chan error, 1)
	go func() {
		// paho 3.1.1 pipelines: every publish is queued at once, the acks are awaited at the end.
		var last error
		toks := make([]mqtt.Token, 0, count)
		for i := 0; i < count; i++ {
			toks = append(toks, pub3.c.Publish(topic1, 1, false, strconv.Itoa(i)))
		}
		for _, tok := range toks {
			tok.Wait()
			if tok.Error() != nil {
				last = tok.Error()
			}
		}
		done <- last
	}()
	for i := 0; i < count; i++ { // paho.golang publishes one at a time
		pub5.publishSimple(t, topic2, 2, strconv.Itoa(i))
	}
	if err := <-done; err != nil {
		t.Fatalf("v3 publisher: %v", err)
	}
	published := time.Since(start)
	sentinel := "end"
	pub3.publish(t, topic1, 1, sentinel)
	pub5.publishSimple(t, topic2, 2, sentinel)
	for _, s := range subs {
		s.inbox().waitUntil(t, 30*time.Second, s.name()+": both sentinels", func(msgs []delivery) bool {
			n := 0
			for _, m := range msgs {
				if m.Payload == sentinel {
					n++
				}
			}
			return n == 2
		})
	}
	took := time.Since(start)
	listenQuiet()
	for _, s := range subs {
		for _, topic := range []string{topic1, topic2} {
			var seq []int
			for _, m := range s.inbox().all() {
				if m.Topic != topic || m.Payload == sentinel {
					continue
				}
				n, err := strconv.Atoi(m.Payload)
				if err != nil {
					t.Fatalf("%s: payload %q", s.name(), m.Payload)
				}
				seq = append(seq, n)
			}
			lost, dups, reordered := checkSequence(seq, count)
			if lost+dups+reordered != 0 || len(seq) != count {
				t.Errorf("%s on %s: %d deliveries of %d: %d lost, %d duplicated, %d out of order", s.name(), topic, len(seq), count, lost, dups, reordered)
			}
		}
	}
	t.Logf("2 x %d messages (QoS 1 pipelined v3, QoS 2 sequential v5) published in %v, all at 2 subscribers in %v (%.0f msgs/s per subscriber)",
		count, published.Round(time.Millisecond), took.Round(time.Millisecond), float64(2*count)/took.Seconds())
}

// checkSequence counts, for deliveries of 0..count-1: sequence numbers never delivered, deliveries
// of a number already delivered, and deliveries below the highest one so far.
func checkSequence(seq []int, count int) (lost, dups, reordered int) {
	seen := make([]int, count)
	highest := -1
	for _, n := range seq {
		if n < 0 || n >= count {
			dups++ // not one of ours: counted as an extra delivery
			continue
		}
		seen[n]++
		if seen[n] > 1 {
			dups++
			continue
		}
		if n < highest {
			reordered++
		}
		highest = max(highest, n)
	}
	for _, s := range seen {
		if s == 0 {
			lost++
		}
	}
	return lost, dups, reordered
}

// testProperties: the MQTT 5 properties of a publish on A reach a v5 subscriber on B unchanged
// (user properties in order, duplicate keys kept), at every QoS; the message expiry interval
// arrives counted down (it can only have shrunk in transit, never grown, never dropped); a publish
// without properties arrives without any; an MQTT 3.1.1 subscriber on C gets the same payload.
func testProperties(t *testing.T, a, b, c *instance) {
	p := uniqueTopic("props")
	sub5, sub3 := connectV5(t, b, "props-sub5"), connectV3(t, c, "props-sub3")
	sub5.subscribe(t, p+"/#", 2)
	sub3.subscribe(t, p+"/#", 2)
	pub := connectV5(t, a, "props-pub")

	format := byte(1)
	const expiry = 120
	want := func() *paho.PublishProperties {
		e := uint32(expiry)
		return &paho.PublishProperties{
			CorrelationData: []byte{0, 1, 2, 0xff, 'c'},
			ContentType:     "application/json; charset=utf-8",
			ResponseTopic:   p + "/reply/é",
			PayloadFormat:   &format,
			MessageExpiry:   &e,
			User: paho.UserProperties{
				{Key: "z-first", Value: "1"},
				{Key: "dup", Value: "one"},
				{Key: "a-third", Value: ""},
				{Key: "dup", Value: "two"},
				{Key: "ключ", Value: "значение"},
			},
		}
	}
	for q := byte(0); q <= 2; q++ {
		pub.publish(t, &paho.Publish{Topic: fmt.Sprintf("%s/%d", p, q), QoS: q, Payload: []byte(`{"q":` + strconv.Itoa(int(q)) + `}`), Properties: want()})
	}
	pub.publish(t, &paho.Publish{Topic: p + "/bare", QoS: 1, Payload: []byte("bare")})

	for q := byte(0); q <= 2; q++ {
		topic := fmt.Sprintf("%s/%d", p, q)
		m := sub5.in.waitPayload(t, topic, `{"q":`+strconv.Itoa(int(q))+`}`)
		if m.QoS != q {
			t.Errorf("%s: QoS %d, want %d", topic, m.QoS, q)
		}
		w, g := want(), m.Props
		if g == nil {
			t.Fatalf("%s: no properties", topic)
		}
		if !bytes.Equal(g.CorrelationData, w.CorrelationData) || g.ContentType != w.ContentType || g.ResponseTopic != w.ResponseTopic {
			t.Errorf("%s: correlation %x content type %q response topic %q, want %x %q %q", topic,
				g.CorrelationData, g.ContentType, g.ResponseTopic, w.CorrelationData, w.ContentType, w.ResponseTopic)
		}
		if g.PayloadFormat == nil || *g.PayloadFormat != format {
			t.Errorf("%s: payload format indicator %v, want %d", topic, g.PayloadFormat, format)
		}
		if !slices.Equal(g.User, w.User) {
			t.Errorf("%s: user properties %q, want %q (in order)", topic, g.User, w.User)
		}
		if g.MessageExpiry == nil || *g.MessageExpiry == 0 || *g.MessageExpiry > expiry {
			t.Errorf("%s: message expiry %v, want 1..%d", topic, g.MessageExpiry, expiry)
		} else {
			t.Logf("%s: message expiry %d s published, %d s delivered", topic, expiry, *g.MessageExpiry)
		}
		sub3.in.waitPayload(t, topic, `{"q":`+strconv.Itoa(int(q))+`}`)
	}
	bare := sub5.in.waitPayload(t, p+"/bare", "bare")
	if g := bare.Props; g != nil && (g.MessageExpiry != nil || len(g.User) > 0 || g.ContentType != "" ||
		g.ResponseTopic != "" || g.CorrelationData != nil || g.PayloadFormat != nil) {
		t.Errorf("a publish without properties arrived with some: %+v", *g)
	}
}

// testOverlapping: a client subscribed to both p/# and p/+ gets, across the mesh, exactly what
// the same subscriptions give on the publisher's own instance (mochi's local behaviour: one copy
// per client, at the highest QoS of the matching subscriptions), for v3 and v5 clients.
func testOverlapping(t *testing.T, a, b *instance) {
	p := uniqueTopic("overlap")
	type pair struct{ local, remote subscriber }
	pairs := []pair{
		{connectV3(t, a, "ovl3-local"), connectV3(t, b, "ovl3-remote")},
		{connectV5(t, a, "ovl5-local"), connectV5(t, b, "ovl5-remote")},
	}
	for _, pr := range pairs {
		for _, s := range []subscriber{pr.local, pr.remote} {
			s.subscribe(t, p+"/#", 1)
			s.subscribe(t, p+"/+", 2)
		}
	}
	pub := connectV5(t, a, "ovl-pub")
	// x matches both filters, x/y only p/#.
	sends := []struct {
		topic string
		qos   byte
	}{{p + "/x", 2}, {p + "/x", 1}, {p + "/x", 0}, {p + "/x/y", 2}}
	for i, s := range sends {
		pub.publishSimple(t, s.topic, s.qos, fmt.Sprintf("m%d q%d", i, s.qos))
	}
	pub.publishSimple(t, p+"/x", 1, "sentinel")
	for _, pr := range pairs {
		for _, s := range []subscriber{pr.local, pr.remote} {
			s.inbox().waitPayload(t, p+"/x", "sentinel")
		}
	}
	listenQuiet()
	key := func(s subscriber) []string {
		var out []string
		for _, m := range s.inbox().all() {
			out = append(out, fmt.Sprintf("%s %q q%d", strings.TrimPrefix(m.Topic, p), m.Payload, m.QoS))
		}
		sort.Strings(out)
		return out
	}
	for _, pr := range pairs {
		local, remote := key(pr.local), key(pr.remote)
		t.Logf("%s on the publisher's instance got: %q", pr.local.name(), local)
		if !slices.Equal(local, remote) {
			t.Errorf("overlapping subscriptions across the mesh differ from local:\n remote %s: %q\n local  %s: %q",
				pr.remote.name(), remote, pr.local.name(), local)
		}
	}
}

// testNoEcho: a client on A subscribed to a topic gets exactly one copy of each publish made on
// its own instance (by itself or another client), even though B and C subscribe too and so the
// message crosses the mesh; a publish on B reaches it exactly once as well.
func testNoEcho(t *testing.T, a, b, c *instance) {
	const count = 50
	topic := uniqueTopic("echo")
	onA := connectV5(t, a, "echo-a")
	others := []subscriber{connectV3(t, b, "echo-b"), connectV5(t, c, "echo-c")}
	onA.subscribe(t, topic, 1)
	for _, s := range others {
		s.subscribe(t, topic, 1)
	}
	otherOnA := connectV3(t, a, "echo-a-pub")
	onB := connectV5(t, b, "echo-b-pub")
	for i := 0; i < count; i++ {
		onA.publishSimple(t, topic, 1, fmt.Sprintf("self %d", i))
		otherOnA.publish(t, topic, 1, fmt.Sprintf("neighbour %d", i))
		onB.publishSimple(t, topic, 1, fmt.Sprintf("remote %d", i))
	}
	onA.publishSimple(t, topic, 1, "sentinel")
	onB.publishSimple(t, topic, 1, "sentinel")
	all := append([]subscriber{onA}, others...)
	for _, s := range all {
		s.inbox().waitUntil(t, deliveryDeadline, s.name()+": 3 x count messages and both sentinels", func(msgs []delivery) bool {
			return len(msgs) >= 3*count+2
		})
	}
	listenQuiet()
	for _, s := range all {
		copies := map[string]int{}
		for _, m := range s.inbox().all() {
			copies[m.Payload]++
		}
		for payload, n := range copies {
			if n != 1 && payload != "sentinel" {
				t.Errorf("%s got %d copies of %q", s.name(), n, payload)
			}
		}
		if copies["sentinel"] != 2 || len(copies) != 3*count+1 {
			t.Errorf("%s got %d distinct payloads and %d sentinels, want %d and 2", s.name(), len(copies), copies["sentinel"], 3*count+1)
		}
	}
}

// testSubscribeThenPublish: 200 times, with a new topic each time, a client subscribes on one
// instance and, the moment its SUBACK arrives, a client on another instance publishes QoS 1:
// every message must arrive. The roles rotate over the three instances and both client kinds.
func testSubscribeThenPublish(t *testing.T, a, b, c *instance) {
	const rounds = 200
	type role struct {
		sub subscriber
		pub publisher
	}
	roles := []role{
		{connectV5(t, b, "race-sub5-b"), connectV3(t, a, "race-pub3-a")},
		{connectV3(t, c, "race-sub3-c"), connectV5(t, b, "race-pub5-b")},
		{connectV5(t, a, "race-sub5-a"), connectV5(t, c, "race-pub5-c")},
	}
	var subackTimes, deliveryTimes []time.Duration
	missed := 0
	start := time.Now()
	for i := 0; i < rounds; i++ {
		r := roles[i%len(roles)]
		topic := uniqueTopic(fmt.Sprintf("race/%d", i))
		t0 := time.Now()
		r.sub.subscribe(t, topic, 1)
		t1 := time.Now()
		r.pub.publishPayload(t, topic, 1, "hello")
		got := false
		deadline := time.NewTimer(3 * time.Second)
		for !got {
			for _, m := range r.sub.inbox().all() {
				if m.Topic == topic {
					got = true
					deliveryTimes = append(deliveryTimes, m.At.Sub(t1))
				}
			}
			if got {
				break
			}
			select {
			case <-r.sub.inbox().changed:
			case <-deadline.C:
				t.Errorf("round %d: %s subscribed to %q, then %s published QoS 1 on it: never arrived (3 s)", i, r.sub.name(), topic, r.pub.name())
				missed++
				got = true
			}
		}
		deadline.Stop()
		subackTimes = append(subackTimes, t1.Sub(t0))
		if missed >= 5 {
			t.Fatalf("stopping after %d misses in %d rounds", missed, i+1)
		}
		r.sub.unsubscribe(t, topic)
	}
	t.Logf("%d rounds in %v, %d missed; SUBACK latency p50 %v max %v; publish-to-delivery p50 %v max %v",
		rounds, time.Since(start).Round(time.Millisecond), missed,
		percentile(subackTimes, 50), percentile(subackTimes, 100), percentile(deliveryTimes, 50), percentile(deliveryTimes, 100))
}

func percentile(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := (len(s) - 1) * p / 100
	return s[i].Round(10 * time.Microsecond)
}
