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
