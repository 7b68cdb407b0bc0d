package main

import (
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/benchplan/benchplan/plan"
)

// planOptions are the flags that change how a plan is read, shared by run
// and validate.
type planOptions struct {
	sets     multiFlag
	servers  string
	simulate bool
	capReqs  capRequestsFlag
	capDur   capDurationFlag
	repeat   repeatFlag
	env      plan.Lookup // the command's environment, for ${VAR}
}

// register adds the flags to fs; ${VAR} in plans is read from env.
func (o *planOptions) register(fs *flag.FlagSet, env plan.Lookup) {
	o.env = env
	fs.Var(&o.sets, "set", "override a plan value, PATH=VALUE (repeatable), e.g. --set scenarios.chat.load.rate=5")
	fs.StringVar(&o.servers, "servers", "", "replace the plan's servers with those of this servers file")
	fs.BoolVar(&o.simulate, "simulate", false, "replace every server with the built-in simulator (a dry run without a GPU)")
	fs.Var(&o.capReqs, "max-requests", "cap every step at `N` requests (a short smoke run; a warmup or cooldown given as a duration is dropped)")
	fs.Var(&o.capDur, "max-duration", "cap every step at this `duration` (a short smoke run)")
	fs.Var(&o.repeat, "repeat", "run every step `N` times (1 to 100) and gate on how its figures vary across the runs")
}

func (o *planOptions) options() plan.Options {
	return plan.Options{Env: o.env, Sets: o.sets, ServersFile: o.servers, Simulate: o.simulate,
		CapRequests: int(o.capReqs), CapDuration: time.Duration(o.capDur), Repeat: int(o.repeat)}
}

// capRequestsFlag is --max-requests: a number of requests from 1 to
// plan.MaxRequests (0, the default, caps nothing); a negative one is an
// error, not silently no cap.
type capRequestsFlag int

func (c *capRequestsFlag) String() string { return strconv.Itoa(int(*c)) }

func (c *capRequestsFlag) Set(v string) error {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 0 || n > plan.MaxRequests {
		return fmt.Errorf("give a number of requests between 1 and %d (0: no cap), not %q", plan.MaxRequests, v)
	}
	*c = capRequestsFlag(n)
	return nil
}

// capDurationFlag is --max-duration: a positive duration (0, the
// default, caps nothing).
type capDurationFlag time.Duration

func (c *capDurationFlag) String() string {
	if *c == 0 {
		return "0s"
	}
	return time.Duration(*c).String()
}

func (c *capDurationFlag) Set(v string) error {
	d, err := time.ParseDuration(strings.TrimSpace(v))
	if err != nil || d < 0 {
		return fmt.Errorf("give a positive duration with a unit, like 30s or 5m (0: no cap), not %q", v)
	}
	*c = capDurationFlag(d)
	return nil
}

// multiFlag collects a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// repeatFlag is --repeat: a number of runs from 1 to 100.
type repeatFlag int

func (r *repeatFlag) String() string { return strconv.Itoa(int(*r)) }

func (r *repeatFlag) Set(v string) error {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 100 {
		return fmt.Errorf("give a number of runs between 1 and 100, not %q", v)
	}
	*r = repeatFlag(n)
	return nil
}
