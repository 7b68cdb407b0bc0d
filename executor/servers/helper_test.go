package servers

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// The test binary doubles as a small server to run as a process server
// (BENCHPLAN_TEST_HELPER=serve): it answers /health with 503 for
// HELPER_DELAY, then 200, and lists helper-model; HELPER_EXIT makes it
// print a few lines and exit with that code; HELPER_CHILD starts a child in
// its process group; HELPER_IGNORE_TERM ignores SIGTERM.
func TestMain(m *testing.M) {
	switch os.Getenv("BENCHPLAN_TEST_HELPER") {
	case "serve":
		helperServe()
		return
	case "sleep":
		time.Sleep(5 * time.Minute)
		return
	}
	// Process records go to a directory of the test's own, not the user's.
	state, err := os.MkdirTemp("", "benchplan-state-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	_ = os.Setenv(StateDirEnv, state)
	ConfigureProcess()
	code := m.Run()
	removeTestImage()
	_ = os.RemoveAll(state)
	os.Exit(code)
}

func helperServe() {
	fmt.Println("helper: starting, token", os.Getenv("HELPER_SECRET"))
	if c := os.Getenv("HELPER_EXIT"); c != "" {
		for i := 1; i <= 25; i++ {
			fmt.Fprintf(os.Stderr, "helper: loading shard %d\n", i)
		}
		fmt.Fprintln(os.Stderr, "helper: CUDA out of memory")
		code, _ := strconv.Atoi(c)
		os.Exit(code)
	}
	if os.Getenv("HELPER_IGNORE_TERM") != "" {
		signal.Ignore(syscall.SIGTERM)
	}
	if os.Getenv("HELPER_CHILD") != "" {
		child := exec.Command(os.Args[0])
		child.Env = append(os.Environ(), "BENCHPLAN_TEST_HELPER=sleep")
		if err := child.Start(); err != nil {
			fmt.Println("helper: child:", err)
			os.Exit(1)
		}
		fmt.Println("helper: child pid", child.Process.Pid)
		if f := os.Getenv("HELPER_CHILD_PIDFILE"); f != "" {
			_ = os.WriteFile(f, []byte(strconv.Itoa(child.Process.Pid)), 0o644)
		}
	}
	delay, _ := time.ParseDuration(os.Getenv("HELPER_DELAY"))
	start := time.Now()
	mux := http.NewServeMux()
	mux.HandleFunc("/health", func(w http.ResponseWriter, r *http.Request) {
		if time.Since(start) < delay {
			http.Error(w, "loading", http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	mux.HandleFunc("/v1/models", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"object":"list","data":[{"id":"helper-model"}]}`)
	})
	mux.HandleFunc("/version", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"version":"9.9.9"}`)
	})
	ln, err := net.Listen("tcp", os.Getenv("HELPER_ADDR"))
	if err != nil {
		fmt.Println("helper:", err)
		os.Exit(1)
	}
	fmt.Println("helper: serving on", ln.Addr())
	sigs := []os.Signal{syscall.SIGTERM, os.Interrupt}
	if os.Getenv("HELPER_IGNORE_TERM") != "" {
		sigs = sigs[1:] // Notify would undo Ignore
	}
	ctx, stop := signal.NotifyContext(context.Background(), sigs...)
	defer stop()
	srv := &http.Server{Handler: mux}
	go func() { <-ctx.Done(); _ = srv.Close() }()
	_ = srv.Serve(ln)
	fmt.Println("helper: stopped")
}

// freeAddr is a loopback address nothing listens on yet.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// helperServer is a process server running this test binary as a helper.
func helperCommand() []string {
	return []string{os.Args[0]}
}

// alive reports whether a process (not a zombie) with pid exists.
func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	// The state follows the command name in parentheses: Z is a zombie.
	for i := len(b) - 1; i > 0; i-- {
		if b[i] == ')' && i+2 < len(b) {
			return b[i+2] != 'Z'
		}
	}
	return true
}
