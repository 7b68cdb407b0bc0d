// Package archtest holds the test that keeps the module's import graph to
// the edges docs/architecture.md allows; it has no code of its own.
package archtest
