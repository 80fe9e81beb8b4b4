package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The mesh-native tools as a user runs them: three `glue-mqtt sub` processes and one one-shot
// `glue-mqtt pub` find each other, with multicast discovery on lo and with unicast discovery
// through a rendezvous (one of the subs).
func TestPubSubProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs glue-mqtt processes: not in -short")
	}
	bin := filepath.Join(t.TempDir(), "glue-mqtt")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	port := 20000 + rand.IntN(20000)
	t.Run("multicast", func(t *testing.T) {
		base := []string{fmt.Sprintf("GLUE_DISCOVERY_TARGET_ADDRESS=239.192.137.1:%d", port)}
		pubSub(t, bin, base, base, base)
	})
	t.Run("rendezvous", func(t *testing.T) {
		rv := fmt.Sprintf("127.0.0.1:%d", port+1)
		base := []string{"GLUE_DISCOVERY_TARGET_ADDRESS=" + rv}
		pubSub(t, bin, base, append([]string{"GLUE_DISCOVERY_LISTEN_ADDRESS=" + rv}, base...), base)
	})
	t.Run("flags", func(t *testing.T) {
		pubFlags(t, bin, fmt.Sprintf("GLUE_DISCOVERY_TARGET_ADDRESS=239.192.137.1:%d", port+2))
	})
	t.Run("no-peer", func(t *testing.T) {
		pub := exec.Command(bin, "pub", "-t", "cli/x", "-m", "nobody listens")
		pub.Env = append(withoutGlue(), "GLUE_LISTEN_INTERFACE=lo", "GLUE_DISCOVERY_RATE_MILLISECONDS=200",
			fmt.Sprintf("GLUE_DISCOVERY_TARGET_ADDRESS=239.192.137.1:%d", port+3), fmt.Sprintf("GLUE_NETWORK_ID=cli-alone-%d", rand.Int()))
		out, err := pub.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "warning: no peer found") {
			t.Fatalf("pub with no peer: %v (want exit status 0 and a warning)\n%s", err, out)
		}
	})
}

// pubFlags: a `sub -v` prints the topic before each payload; `pub -l` sends each line of stdin,
// `pub -f` a file, `pub -q 0` best effort (the default), `pub -q 1` reliably.
func pubFlags(t *testing.T, bin, discovery string) {
	env := append(withoutGlue(), "GLUE_LISTEN_INTERFACE=lo", "GLUE_DISCOVERY_RATE_MILLISECONDS=200", discovery,
		fmt.Sprintf("GLUE_NETWORK_ID=cli-flags-%d", rand.Int()))
	sub := exec.Command(bin, "sub", "-v", "-t", "cli/#", "-C", "5", "-W", "20")
	sub.Env = env
	out := &lockedBuffer{}
	sub.Stdout = out
	stderr := &lockedBuffer{}
	sub.Stderr = stderr
	if err := sub.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sub.Process.Kill(); sub.Wait() })
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(stderr.String(), "no network key") {
		if time.Now().After(deadline) {
			t.Fatalf("sub did not start: %q", stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	file := filepath.Join(t.TempDir(), "payload")
	if err := os.WriteFile(file, []byte("from a file"), 0o644); err != nil {
		t.Fatal(err)
	}
	pubs := []struct {
		args  []string
		stdin string
	}{
		{[]string{"-t", "cli/l", "-l"}, "line one\nline two\n"},
		{[]string{"-t", "cli/f", "-f", file}, ""},
		{[]string{"-t", "cli/q0", "-q", "0", "-m", "best effort"}, ""},
		{[]string{"-t", "cli/q1", "-q", "1", "-m", "reliable"}, ""},
	}
	for _, p := range pubs {
		cmd := exec.Command(bin, append([]string{"pub"}, p.args...)...)
		cmd.Env = env
		cmd.Stdin = strings.NewReader(p.stdin)
		if b, err := cmd.CombinedOutput(); err != nil || strings.Contains(string(b), "warning") {
			t.Fatalf("pub %v: %v\n%s", p.args, err, b)
		}
	}
	done := make(chan error, 1)
	go func() { done <- sub.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("sub: %v; printed %q, stderr %q", err, out.String(), stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("sub did not get 5 messages: %q", out.String())
	}
	want := "cli/l line one\ncli/l line two\ncli/f from a file\ncli/q0 best effort\ncli/q1 reliable\n"
	if out.String() != want {
		t.Fatalf("sub -v printed %q, want %q", out.String(), want)
	}
}

// pubSub runs three subs (the first with firstEnv) and then one pub, and checks every sub printed
// the message.
func pubSub(t *testing.T, bin string, base, firstEnv, pubEnv []string) {
	network := fmt.Sprintf("GLUE_NETWORK_ID=cli-%s-%d", strings.ReplaceAll(t.Name(), "/", "-"), rand.Int())
	common := []string{"GLUE_LISTEN_INTERFACE=lo", "GLUE_DISCOVERY_RATE_MILLISECONDS=200", network}
	type sub struct {
		cmd *exec.Cmd
		out *lockedBuffer
	}
	var subs []sub
	for i := range 3 {
		env := base
		if i == 0 {
			env = firstEnv
		}
		cmd := exec.Command(bin, "sub", "-t", "cli/#", "-C", "1", "-W", "20")
		cmd.Env = append(append(withoutGlue(), common...), env...)
		out := &lockedBuffer{}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		subs = append(subs, sub{cmd, out})
	}
	// Each sub warns about the missing network key once it has joined; publish after that.
	deadline := time.Now().Add(10 * time.Second)
	for _, s := range subs {
		for !strings.Contains(s.out.String(), "no network key") {
			if time.Now().After(deadline) {
				t.Fatalf("a sub did not start: %q", s.out.String())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	pub := exec.Command(bin, "pub", "-t", "cli/x", "-m", "hello-cli")
	pub.Env = append(append(withoutGlue(), common...), pubEnv...)
	if out, err := pub.CombinedOutput(); err != nil {
		t.Fatalf("pub: %v\n%s", err, out)
	}
	for i, s := range subs {
		done := make(chan error, 1)
		go func() { done <- s.cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil || !strings.Contains(s.out.String(), "hello-cli") {
				t.Fatalf("sub %d: %v, printed %q", i, err, s.out.String())
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("sub %d did not get the message: %q", i, s.out.String())
		}
	}
}

func withoutGlue() []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GLUE_") {
			out = append(out, kv)
		}
	}
	return out
}
