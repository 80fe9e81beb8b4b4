package mesh

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Real UDP on loopback: endpoints in separate processes. The test binary re-executes itself as
// a child endpoint (TestMain), configured by GLUE_* variables and driven by lines on stdin:
//
//	sub FILTER          -> "ok"
//	pub TOPIC SIZE      -> "ok" (payload: SIZE deterministic bytes)
//	peers               -> "peers N"
//	received lines:        "msg TOPIC SIZE SHA256-PREFIX"

const childEnv = "GLUE_MESH_TEST_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		os.Exit(runChild())
	}
	os.Exit(m.Run())
}

func payloadOf(size int) []byte {
	b := make([]byte, size)
	for i := range b {
		b[i] = byte(i*7 + i/251)
	}
	return b
}

func digest(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:8])
}

func runChild() int {
	cfg, err := ConfigFromEnv(DefaultConfig(), os.Getenv)
	if err != nil {
		fmt.Println("error", err)
		return 2
	}
	cfg.Logger = testLogger()
	e, err := New(cfg)
	if err == nil {
		err = e.Start()
	}
	if err != nil {
		fmt.Println("error", err)
		return 2
	}
	defer e.Stop()
	out := make(chan string, 64)
	go func() {
		w := bufio.NewWriter(os.Stdout)
		for l := range out {
			w.WriteString(l + "\n")
			w.Flush()
		}
	}()
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		switch f[0] {
		case "sub":
			err := e.Subscribe(f[1], "", func(m Message) {
				out <- fmt.Sprintf("msg %s %d %s", m.Topic, len(m.Payload), digest(m.Payload))
			})
			if err == nil {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				err = e.SyncInterest(ctx)
				cancel()
			}
			out <- result(err)
		case "pub":
			size, _ := strconv.Atoi(f[2])
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			out <- result(e.Send(ctx, Outgoing{Topic: f[1], Payload: payloadOf(size)}))
			cancel()
		case "peers":
			out <- fmt.Sprintf("peers %d", len(e.Peers()))
		case "stats":
			out <- fmt.Sprintf("stats %+v", e.Stats())
		}
	}
	return 0
}

func result(err error) string {
	if err != nil {
		return "error " + err.Error()
	}
	return "ok"
}

type child struct {
	t     *testing.T
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan string
}

func startChild(t *testing.T, env ...string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), append([]string{childEnv + "=1", "GLUE_LISTEN_INTERFACE=lo"}, env...)...)
	stdin, err := cmd.StdinPipe()
	must(t, err)
	stdout, err := cmd.StdoutPipe()
	must(t, err)
	cmd.Stderr = os.Stderr
	must(t, cmd.Start())
	c := &child{t: t, cmd: cmd, stdin: stdin, lines: make(chan string, 1024)}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
		close(c.lines)
	}()
	t.Cleanup(c.kill)
	return c
}

func (c *child) kill() {
	if c.cmd.ProcessState == nil {
		c.cmd.Process.Kill()
		c.cmd.Wait()
	}
}

// call sends a command and waits for its reply, skipping message lines (kept in msgs).
func (c *child) call(cmd string, msgs *[]string) string {
	c.t.Helper()
	fmt.Fprintln(c.stdin, cmd)
	deadline := time.After(90 * time.Second)
	for {
		select {
		case l, ok := <-c.lines:
			if !ok {
				c.t.Fatalf("child exited during %q", cmd)
			}
			if strings.HasPrefix(l, "msg ") {
				if msgs != nil {
					*msgs = append(*msgs, l)
				}
				continue
			}
			return l
		case <-deadline:
			c.t.Fatalf("no reply to %q", cmd)
		}
	}
}

func (c *child) waitPeers(n int, limit time.Duration) time.Duration {
	c.t.Helper()
	start := time.Now()
	for time.Since(start) < limit {
		if c.call("peers", nil) == fmt.Sprintf("peers %d", n) {
			return time.Since(start)
		}
		time.Sleep(20 * time.Millisecond)
	}
	c.t.Fatalf("child did not reach %d peers in %v: %s", n, limit, c.call("stats", nil))
	return 0
}

// expectMsg waits for a message line.
func (c *child) expectMsg(want string, limit time.Duration) {
	c.t.Helper()
	deadline := time.After(limit)
	for {
		select {
		case l, ok := <-c.lines:
			if !ok {
				c.t.Fatal("child exited")
			}
			if l == want {
				return
			}
		case <-deadline:
			c.t.Fatalf("did not receive %q within %v", want, limit)
		}
	}
}

func testNetworkEnv(t *testing.T) []string {
	return []string{
		"GLUE_NETWORK_ID=" + fmt.Sprintf("test-%s-%d", t.Name(), rand.Int()),
		"GLUE_DISCOVERY_RATE_MILLISECONDS=300",
		"GLUE_DISCOVERY_RATE_TIMEOUT_MULTIPLIER=3",
	}
}

func TestProcessesMulticastOnLoopback(t *testing.T) {
	if testing.Short() {
		t.Skip("processes on loopback: not in -short")
	}
	port := 20000 + rand.IntN(20000)
	env := append(testNetworkEnv(t), fmt.Sprintf("GLUE_DISCOVERY_TARGET_ADDRESS=239.192.137.1:%d", port))
	c1, c2, c3 := startChild(t, env...), startChild(t, env...), startChild(t, env...)
	for _, c := range []*child{c1, c2, c3} {
		c.waitPeers(2, 10*time.Second)
	}
	exchangeAndBig(t, c1, c2, c3)
	killedPeerExpires(t, c3, c1, c2)
}

// Scheduling allowance on top of the bound: the kill itself (SIGKILL and wait) and
// polling the table through a child's stdin (every 20 ms, a pipe round trip each).
const killAllowance = 100 * time.Millisecond

// killedPeerExpires kills one child and checks, from the moment of the kill, that it disappears
// from the others' tables within rate x multiplier plus one beacon (testNetworkEnv: 300 ms x 3
// + 300 ms), plus killAllowance.
func killedPeerExpires(t *testing.T, killed *child, others ...*child) {
	t.Helper()
	const rate, multiplier = 300 * time.Millisecond, 3
	bound := rate*multiplier + rate
	start := time.Now()
	killed.kill()
	for i, c := range others {
		c.waitPeers(len(others)-1, 10*time.Second)
		took := time.Since(start)
		t.Logf("killed peer gone from survivor %d after %v (bound %v + %v)", i+1, took, bound, killAllowance)
		if took > bound+killAllowance {
			t.Fatalf("killed peer gone from survivor %d after %v, want within %v + %v", i+1, took, bound, killAllowance)
		}
	}
}

func TestProcessesUnicastRendezvous(t *testing.T) {
	if testing.Short() {
		t.Skip("processes on loopback: not in -short")
	}
	rv := fmt.Sprintf("127.0.0.1:%d", 20000+rand.IntN(20000))
	env := append(testNetworkEnv(t), "GLUE_DISCOVERY_TARGET_ADDRESS="+rv)
	c1 := startChild(t, append(env, "GLUE_DISCOVERY_LISTEN_ADDRESS="+rv)...)
	c2, c3 := startChild(t, env...), startChild(t, env...)
	deadline := time.Now().Add(10 * time.Second)
	for _, c := range []*child{c1, c2, c3} {
		for c.call("peers", nil) != "peers 2" {
			if time.Now().After(deadline) {
				t.Fatalf("no full mesh in 10s:\nrendezvous %s\nc2 %s\nc3 %s", c1.call("stats", nil), c2.call("stats", nil), c3.call("stats", nil))
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	exchangeAndBig(t, c1, c2, c3)
	killedPeerExpires(t, c3, c1, c2) // the rendezvous (c1) and a plain node both drop it
}

// exchangeAndBig: exact and wildcard topics between three processes, and a 16 MiB message.
func exchangeAndBig(t *testing.T, c1, c2, c3 *child) {
	for c, f := range map[*child]string{c1: "a/#", c2: "a/+/x", c3: "a/b/x"} {
		if r := c.call("sub "+f, nil); r != "ok" {
			t.Fatalf("sub: %s", r)
		}
	}
	if r := c1.call("pub a/b/x 100", nil); r != "ok" {
		t.Fatal(r)
	}
	want := fmt.Sprintf("msg a/b/x 100 %s", digest(payloadOf(100)))
	c2.expectMsg(want, 5*time.Second)
	c3.expectMsg(want, 5*time.Second)
	big := 16<<20 - 64 // the whole message (topic and header included) stays within 16 MiB
	start := time.Now()
	if r := c2.call(fmt.Sprintf("pub a/big %d", big), nil); r != "ok" {
		t.Fatal(r)
	}
	c1.expectMsg(fmt.Sprintf("msg a/big %d %s", big, digest(payloadOf(big))), 60*time.Second)
	t.Logf("16 MiB message delivered intact in %v", time.Since(start))
}
