// Package reporters renders a finished run (results.Run) for people and
// machines: the end-of-run console summary, results.json, junit.xml and
// summary.md (a pull-request comment). Each renderer takes results in and
// writes bytes out; none reads flags, the clock or the environment, so the
// same run always renders to the same bytes.
//
// WriteFiles writes the three report files into an output directory
// atomically (temp file + rename).
package reporters
