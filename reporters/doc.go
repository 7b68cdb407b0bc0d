// Package reporters renders a finished run (results.Run) for people and
// machines: the end-of-run console summary, results.json, results.csv,
// requests.jsonl, junit.xml, summary.md (a pull-request comment) and
// report.html (a self-contained page with SVG charts), plus comparisons of
// two runs (Compare). Each renderer takes results in and writes bytes out;
// none reads flags, the clock or the environment, so the same run always
// renders to the same bytes. docs/reports.md describes every file.
//
// WriteFilesWith writes the report files into an output directory
// atomically (temp file + rename). PlanConfig and RedactRun keep the plan's
// secrets out of every report.
package reporters
