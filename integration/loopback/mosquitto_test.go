package loopback

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestMosquittoClientsAcrossInstances: mosquitto_sub on B and mosquitto_pub on A, MQTT 3.1.1 and
// MQTT 5: a '+' filter, QoS 0, 1 and 2, and MQTT 5 user properties set with -D.
func TestMosquittoClientsAcrossInstances(t *testing.T) {
	if _, err := exec.LookPath("stdbuf"); err != nil {
		needTool(t, "stdbuf (coreutils) not found: %v", err)
	}
	for _, bin := range []string{"mosquitto_pub", "mosquitto_sub"} {
		if _, err := exec.LookPath(bin); err != nil {
			needTool(t, "%s not found (Debian package mosquitto-clients; .ci/run installs it): %v", bin, err)
		}
	}
	inst := startMesh(t, 2)
	a, b := inst[0], inst[1]

	for _, version := range []string{"mqttv311", "mqttv5"} {
		t.Run(version, func(t *testing.T) {
			p := uniqueTopic("mosq")
			format := "MSG|%t|%q|%p"
			if version == "mqttv5" {
				format = "MSG|%t|%q|%P|%p"
			}
			// Three matching topics at QoS 0, 1 and 2, and one that must not match; -C 3 exits
			// after three messages, so a wrong delivery would take the place of a right one.
			sub := startMosquittoSub(t, "-p", strconv.Itoa(b.port), "-V", version, "-t", p+"/+/y", "-q", "2", "-C", "3", "-F", format)
			start := time.Now()
			for q := 0; q <= 2; q++ {
				if q == 1 {
					runMosquittoPub(t, "-p", strconv.Itoa(a.port), "-V", version, "-t", p+"/no/match/y", "-q", "1", "-m", "wrong")
				}
				args := []string{"-p", strconv.Itoa(a.port), "-V", version, "-t", fmt.Sprintf("%s/q%d/y", p, q), "-q", strconv.Itoa(q), "-m", fmt.Sprintf("payload %d", q)}
				if version == "mqttv5" {
					args = append(args, "-D", "publish", "user-property", "first", fmt.Sprint(q),
						"-D", "publish", "user-property", "second", "x y")
				}
				runMosquittoPub(t, args...)
			}
			lines := sub.wait(t)
			t.Logf("%s: 3 mosquitto_pub runs on A reached mosquitto_sub on B in %v", version, time.Since(start).Round(time.Millisecond))
			sort.Strings(lines)
			var want []string
			for q := 0; q <= 2; q++ {
				if version == "mqttv5" {
					want = append(want, fmt.Sprintf("MSG|%s/q%d/y|%d|first:%d second:x y|payload %d", p, q, q, q, q))
				} else {
					want = append(want, fmt.Sprintf("MSG|%s/q%d/y|%d|payload %d", p, q, q, q))
				}
			}
			if strings.Join(lines, "\n") != strings.Join(want, "\n") {
				t.Errorf("mosquitto_sub printed:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

// mosquittoSub is a running mosquitto_sub.
type mosquittoSub struct {
	cmd    *exec.Cmd
	mu     sync.Mutex
	msgs   []string // lines starting with MSG|
	other  []string // everything else (debug output, errors)
	done   chan error
	cancel context.CancelFunc
}

// startMosquittoSub runs mosquitto_sub -d with args and waits until it holds its SUBACK.
func startMosquittoSub(t *testing.T, args ...string) *mosquittoSub {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	s := &mosquittoSub{done: make(chan error, 1), cancel: cancel}
	// mosquitto_sub's debug lines are block-buffered on a pipe: stdbuf makes them line-buffered,
	// so the SUBACK is seen when it arrives.
	s.cmd = exec.CommandContext(ctx, "stdbuf", append([]string{"-oL", "mosquitto_sub", "-h", "127.0.0.1", "-d", "-W", "25"}, args...)...)
	out, err := s.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	s.cmd.Stderr = s.cmd.Stdout
	subacked := make(chan struct{})
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("mosquitto_sub: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		<-s.done
	})
	go func() {
		sc := bufio.NewScanner(out)
		once := sync.Once{}
		for sc.Scan() {
			line := sc.Text()
			s.mu.Lock()
			if strings.HasPrefix(line, "MSG|") {
				s.msgs = append(s.msgs, line)
			} else {
				s.other = append(s.other, line)
			}
			s.mu.Unlock()
			if strings.Contains(line, "received SUBACK") {
				once.Do(func() { close(subacked) })
			}
		}
		_, _ = io.Copy(io.Discard, out)
		s.done <- s.cmd.Wait()
	}()
	select {
	case <-subacked:
	case <-time.After(10 * time.Second):
		t.Fatalf("mosquitto_sub got no SUBACK in 10 s; output:\n%s", s.output())
	}
	return s
}

// wait waits for mosquitto_sub to exit (after -C messages) and returns its message lines.
func (s *mosquittoSub) wait(t *testing.T) []string {
	t.Helper()
	select {
	case err := <-s.done:
		s.done <- err // for Cleanup
		if err != nil {
			t.Fatalf("mosquitto_sub: %v; output:\n%s", err, s.output())
		}
	case <-time.After(deliveryDeadline):
		t.Fatalf("mosquitto_sub did not get its messages in %v; output:\n%s", deliveryDeadline, s.output())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.msgs...)
}

func (s *mosquittoSub) output() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(append(append([]string(nil), s.other...), s.msgs...), "\n")
}

// runMosquittoPub runs mosquitto_pub to completion.
func runMosquittoPub(t *testing.T, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "mosquitto_pub", append([]string{"-h", "127.0.0.1"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("mosquitto_pub %q: %v: %s", args, err, out)
	}
}
