package results

// InputCounts counts the inputs of a step's completed embeddings requests
// (an embeddings request may carry several inputs, each embedded alone).
type InputCounts struct {
	// Total is the inputs of completed requests.
	Total int `json:"total"`
	// Mean is inputs per completed request.
	Mean float64 `json:"mean"`
	// RatePerSec is inputs (embeddings) per second of the measured window,
	// with its interval: batch means for a paced step, else the requests
	// rate's interval times Mean.
	RatePerSec float64   `json:"rate_per_sec"`
	RateCI     *Interval `json:"rate_ci_per_sec,omitempty"`
}

// inputTally sums the inputs of completed requests.
type inputTally struct {
	total    int
	requests int
}

func (t *inputTally) add(n int) {
	t.total += n
	t.requests++
}

// counts makes the step's InputCounts (nil when no completed request
// carried inputs) over completed requests and sec seconds.
func (t *inputTally) counts(completed int, sec float64, rates rateIntervals) *InputCounts {
	if t.requests == 0 || completed == 0 {
		return nil
	}
	c := &InputCounts{Total: t.total, Mean: float64(t.total) / float64(completed)}
	if sec > 0 {
		c.RatePerSec = float64(t.total) / sec
		c.RateCI = rates.inputs
		if c.RateCI == nil && rates.requests != nil {
			c.RateCI = &Interval{Lo: rates.requests.Lo * c.Mean, Hi: rates.requests.Hi * c.Mean}
		}
	}
	return c
}

// combineInputs combines the runs' InputCounts (nil when none has any):
// totals add up, the rate is the runs' mean with across's and within's
// interval (see CombineRepeats).
func combineInputs(runs []Metrics, completed int,
	across func(func(m *Metrics) float64) (float64, *Interval),
	within func(float64, *Interval, func(m *Metrics) *Interval) *Interval) *InputCounts {
	var c InputCounts
	found := false
	for i := range runs {
		if in := runs[i].Inputs; in != nil {
			c.Total += in.Total
			found = true
		}
	}
	if !found {
		return nil
	}
	if completed > 0 {
		c.Mean = float64(c.Total) / float64(completed)
	}
	rate := func(m *Metrics) float64 {
		if m.Inputs == nil {
			return 0
		}
		return m.Inputs.RatePerSec
	}
	c.RatePerSec, c.RateCI = across(rate)
	c.RateCI = within(c.RatePerSec, c.RateCI, func(m *Metrics) *Interval {
		if m.Inputs == nil {
			return nil
		}
		return m.Inputs.RateCI
	})
	return &c
}
