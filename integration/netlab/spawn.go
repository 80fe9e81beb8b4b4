package netlab

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
)

// Build compiles ./cmd/glue-mqtt of the module that contains the current directory into dir and
// returns the binary's path.
func Build(ctx context.Context, dir string) (string, error) {
	gomod, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("integration: go env GOMOD: %w", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(gomod)))
	if root == "." || root == "" {
		return "", errors.New("integration: not inside a Go module")
	}
	bin := filepath.Join(dir, "glue-mqtt")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/glue-mqtt")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("integration: go build ./cmd/glue-mqtt: %w\n%s", err, out)
	}
	return bin, nil
}

// The parent-death signal is sent when the OS thread that forked the child ends, not the process:
// Do discards the OS threads it locks, and any of them may earlier have run a goroutine that
// forked. So every child is forked from one goroutine locked to its own thread for the life of
// the test process, a thread that therefore never ends early.
var (
	spawnOnce sync.Once
	spawnReqs chan spawnRequest
)

type spawnRequest struct {
	cmd  *exec.Cmd
	done chan error
}

func startOnSpawner(cmd *exec.Cmd) error {
	spawnOnce.Do(func() {
		spawnReqs = make(chan spawnRequest)
		go func() {
			runtime.LockOSThread() // never unlocked: this thread lives as long as the process
			for req := range spawnReqs {
				req.done <- req.cmd.Start()
			}
		}()
	})
	done := make(chan error, 1)
	spawnReqs <- spawnRequest{cmd, done}
	return <-done
}

// childEnv is the test process's environment without GLUE_* variables (CI exports some for its
// loopback tests), plus env.
func childEnv(env map[string]string) []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GLUE_") {
			out = append(out, kv)
		}
	}
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		out = append(out, k+"="+env[k])
	}
	return out
}
