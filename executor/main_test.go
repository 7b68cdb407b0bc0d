package executor

import (
	"testing"

	"github.com/benchplan/benchplan/executor/servers"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests when a goroutine outlives them: a run
// must leave no dispatcher, request, sampler or server goroutine behind.
func TestMain(m *testing.M) {
	servers.ConfigureProcess()
	_ = RaiseOpenFileLimit()
	goleak.VerifyTestMain(m)
}
