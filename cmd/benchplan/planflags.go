package main

import (
	"flag"
	"os"
	"strings"

	"github.com/benchplan/benchplan/plan"
)

// planOptions are the flags that change how a plan is read, shared by run
// and validate.
type planOptions struct {
	sets     multiFlag
	servers  string
	simulate bool
}

func (o *planOptions) register(fs *flag.FlagSet) {
	fs.Var(&o.sets, "set", "override a plan value, PATH=VALUE (repeatable), e.g. --set scenarios.chat.load.rate=5")
	fs.StringVar(&o.servers, "servers", "", "replace the plan's servers with those of this servers file")
	fs.BoolVar(&o.simulate, "simulate", false, "replace every server with the built-in simulator (a dry run without a GPU)")
}

func (o *planOptions) options() plan.Options {
	return plan.Options{Env: os.LookupEnv, Sets: o.sets, ServersFile: o.servers, Simulate: o.simulate}
}

// multiFlag collects a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }
