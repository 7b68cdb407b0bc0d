package load

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests when a goroutine outlives them: a step
// must leave no dispatcher, request, sampler or server goroutine behind.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
