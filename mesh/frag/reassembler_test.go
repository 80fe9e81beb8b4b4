package frag

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

func TestBudgetExhaustionThenRecovery(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Budget = 10_000
	r := NewReassembler[int](cfg)
	big := Split(1, randomMessage(20_000, 1), 1000)
	var refused error
	held := 0
	for _, f := range big[:19] {
		if _, _, err := r.Add(1, f, epoch); err != nil {
			refused = err
			break
		}
		held++
	}
	if !errors.Is(refused, ErrBudget) {
		t.Fatalf("over budget: %v, want ErrBudget", refused)
	}
	if r.Used() > cfg.Budget {
		t.Fatalf("Used %d over budget %d", r.Used(), cfg.Budget)
	}
	t.Logf("held %d fragments of 1000 bytes, Used %d of %d", held, r.Used(), cfg.Budget)
	// Another source is refused too while the budget is exhausted.
	small := Split(2, randomMessage(3000, 2), 1000)
	if _, _, err := r.Add(2, small[0], epoch.Add(time.Second)); !errors.Is(err, ErrBudget) {
		t.Fatalf("second source: %v, want ErrBudget", err)
	}
	if n := r.Expire(epoch.Add(cfg.Timeout)); n != 1 || r.Used() != 0 || r.Partials() != 0 {
		t.Fatalf("Expire = %d, Used %d, Partials %d", n, r.Used(), r.Partials())
	}
	var got []byte
	for _, f := range small {
		m, complete, err := r.Add(2, f, epoch.Add(cfg.Timeout))
		if err != nil {
			t.Fatalf("after Expire: %v", err)
		}
		if complete {
			got = m
		}
	}
	if len(got) != 3000 {
		t.Fatalf("message after recovery: %d bytes", len(got))
	}
}

func TestTimeoutCountsFromLastNewFragment(t *testing.T) {
	cfg := DefaultConfig()
	r := NewReassembler[int](cfg)
	frags := Split(5, randomMessage(5000, 5), 1000)
	r.Add(1, frags[0], epoch)
	r.Add(1, frags[1], epoch.Add(4*time.Second))
	r.Add(1, frags[1], epoch.Add(8*time.Second)) // a duplicate does not keep it alive
	if want := epoch.Add(4*time.Second + cfg.Timeout); !r.NextExpiry().Equal(want) {
		t.Fatalf("NextExpiry = %v, want %v", r.NextExpiry(), want)
	}
	if n := r.Expire(epoch.Add(4*time.Second + cfg.Timeout - 1)); n != 0 {
		t.Fatalf("expired %d too early", n)
	}
	if n := r.Expire(epoch.Add(4*time.Second + cfg.Timeout)); n != 1 || r.Used() != 0 {
		t.Fatalf("Expire = %d, Used %d", n, r.Used())
	}
	if !r.NextExpiry().IsZero() {
		t.Error("NextExpiry not zero with nothing held")
	}
	// The late remainder starts a new partial; it does not resurrect the dropped one.
	for _, f := range frags[2:] {
		if _, complete, err := r.Add(1, f, epoch.Add(20*time.Second)); complete || err != nil {
			t.Fatalf("late fragment: complete %v err %v", complete, err)
		}
	}
}

func TestInconsistentFragmentsRejected(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxMessage = 10_000
	r := NewReassembler[int](cfg)
	frags := Split(1, randomMessage(3500, 1), 1000)
	if _, _, err := r.Add(1, frags[0], epoch); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		f    Fragment
		want error
	}{
		{"count changed", Fragment{MsgID: 1, Index: 1, Count: 5, Data: frags[1].Data}, ErrInconsistent},
		{"short middle fragment", Fragment{MsgID: 1, Index: 1, Count: 4, Data: make([]byte, 999)}, ErrInconsistent},
		{"long last fragment", Fragment{MsgID: 1, Index: 3, Count: 4, Data: make([]byte, 1001)}, ErrInconsistent},
		{"index out of range", Fragment{MsgID: 1, Index: 4, Count: 4, Data: frags[1].Data}, ErrInvalid},
		{"count zero", Fragment{MsgID: 2, Count: 0, Data: []byte{1}}, ErrInvalid},
		{"empty middle fragment", Fragment{MsgID: 3, Index: 0, Count: 2}, ErrInvalid},
		{"too large", Fragment{MsgID: 4, Index: 0, Count: 11, Data: make([]byte, 1000)}, ErrTooLarge},
		{"too large single", Fragment{MsgID: 5, Index: 0, Count: 1, Data: make([]byte, 10_001)}, ErrTooLarge},
		{"huge count", Fragment{MsgID: 6, Index: 0, Count: 1 << 31, Data: make([]byte, 1<<20)}, ErrTooLarge},
		{"huge count, last first", Fragment{MsgID: 7, Index: 1<<32 - 2, Count: 1<<32 - 1, Data: []byte{1}}, ErrTooLarge},
	}
	for _, c := range cases {
		if _, _, err := r.Add(1, c.f, epoch); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		} else if err.Error()[:6] != "frag: " {
			t.Errorf("%s: error %q lacks the package prefix", c.name, err)
		}
	}
	var got []byte
	for _, f := range frags[1:] { // the genuine message still completes
		m, _, err := r.Add(1, f, epoch)
		if err != nil {
			t.Fatal(err)
		}
		got = m
	}
	if !bytes.Equal(got, append(append(append(append([]byte(nil), frags[0].Data...), frags[1].Data...), frags[2].Data...), frags[3].Data...)) {
		t.Fatal("message corrupted by rejected fragments")
	}
	if r.Used() != 0 || r.Partials() != 0 {
		t.Fatalf("Used %d Partials %d", r.Used(), r.Partials())
	}
}

func TestManySourcesAndDropSource(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxPartials = 100
	r := NewReassembler[int](cfg)
	msgs := map[int][]Fragment{}
	for src := 0; src < 100; src++ {
		msgs[src] = Split(42, randomMessage(2500, uint64(src)), 1000) // same ID, different sources
		if _, _, err := r.Add(src, msgs[src][0], epoch); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := r.Add(100, msgs[0][0], epoch); !errors.Is(err, ErrTooManyPartials) {
		t.Fatalf("101st partial: %v, want ErrTooManyPartials", err)
	}
	r.DropSource(7)
	if r.Partials() != 99 {
		t.Fatalf("Partials %d after DropSource, want 99", r.Partials())
	}
	for src := 0; src < 100; src++ {
		var got []byte
		for _, f := range msgs[src][1:] {
			m, _, err := r.Add(src, f, epoch)
			if err != nil {
				t.Fatal(err)
			}
			got = m
		}
		if src == 7 {
			if got != nil {
				t.Fatal("dropped source completed a message")
			}
			continue
		}
		want := append(append(append([]byte(nil), msgs[src][0].Data...), msgs[src][1].Data...), msgs[src][2].Data...)
		if !bytes.Equal(got, want) {
			t.Fatalf("source %d: message mixed up", src)
		}
	}
	if r.Partials() != 1 { // source 7's remainder
		t.Fatalf("Partials %d", r.Partials())
	}
	r.DropSource(7)
	if r.Used() != 0 || r.Partials() != 0 {
		t.Fatalf("Used %d Partials %d", r.Used(), r.Partials())
	}
}

func TestExactSizeCheckedOnCompletion(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxMessage = 10_000
	r := NewReassembler[int](cfg)
	var err error
	for _, f := range Split(1, make([]byte, 10_010), 1001) { // 10 fragments: passes the estimates
		_, _, err = r.Add(1, f, epoch)
	}
	if !errors.Is(err, ErrTooLarge) || r.Used() != 0 || r.Partials() != 0 {
		t.Fatalf("10010-byte message: %v, Used %d, Partials %d", err, r.Used(), r.Partials())
	}
}
