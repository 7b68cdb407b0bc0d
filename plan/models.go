package plan

import (
	"fmt"
	"math"
)

// MaxModels bounds the models of one scenario's mix.
const MaxModels = 1000

// ModelWeight is one model of a scenario's mix and its share of the
// requests.
type ModelWeight struct {
	// Name is the model name sent in requests (a base model or a LoRA
	// adapter the server serves).
	Name string `yaml:"name" json:"name" jsonschema:"required,minLength=1"`
	// Weight is the model's share, relative to the others' (default 1):
	// with weights 1 and 3 a quarter of the requests name the first.
	Weight *float64 `yaml:"weight,omitempty" json:"weight,omitempty" jsonschema:"exclusiveMinimum=0,maximum=1000000"`
}

// WeightOr1 is the model's weight, 1 when unset.
func (m ModelWeight) WeightOr1() float64 {
	if m.Weight == nil {
		return 1
	}
	return *m.Weight
}

// maxModelWeight bounds a weight: larger ones are mistakes, and keep the
// sum of a mix's weights finite.
const maxModelWeight = 1_000_000

// checkModels checks a scenario's mix of models: not beside model, each
// named once, weights above 0.
func (p *Plan) checkModels(s *Scenario, es *Errors) {
	if len(s.Models) == 0 {
		return
	}
	at := ScenarioPath(s.index)
	add := func(msg string, ps ...string) { *es = append(*es, p.ErrorAt(0, msg, ps...)) }
	if s.Model != "" {
		add("set model or models, not both: models is a mix of models that each request draws from",
			at+".models", "$.defaults.models", at+".model")
	}
	if len(s.Models) > MaxModels {
		add(fmt.Sprintf("%d models: at most %d", len(s.Models), MaxModels), at+".models", "$.defaults.models")
		return
	}
	seen := map[string]int{}
	for i, m := range s.Models {
		el := fmt.Sprintf(".models[%d]", i)
		switch {
		case m.Name == "":
			add("a model of the mix has no name", at+el+".name", "$.defaults"+el+".name", at+el, "$.defaults"+el)
		case func() bool { k, _ := controlChar(m.Name); return k >= 0 }():
			k, r := controlChar(m.Name)
			*es = append(*es, p.ErrorAt(k, nameMsg("a model's name", m.Name, k, r), at+el+".name", "$.defaults"+el+".name"))
		default:
			if j, dup := seen[m.Name]; dup {
				add(fmt.Sprintf("model %q is listed twice (first as models[%d]): give it one entry and the sum of the weights", m.Name, j),
					at+el+".name", "$.defaults"+el+".name")
			} else {
				seen[m.Name] = i
			}
		}
		if w := m.WeightOr1(); !(w > 0) || w > maxModelWeight || math.IsInf(w, 0) {
			add(fmt.Sprintf("weight %v: a model's weight is its share of the requests, above 0 and at most %d", w, maxModelWeight),
				at+el+".weight", "$.defaults"+el+".weight")
		}
	}
}

// mixAdapters lists the models that the scenarios on server name draw
// from (`models`) besides *model, the server's own, for --simulate: the
// simulator serves them as LoRA adapters. When *model is empty, the first
// model of the first mix becomes it.
func (p *Plan) mixAdapters(server string, model *string) []string {
	var out []string
	seen := map[string]bool{}
	for _, sc := range p.Scenarios {
		if sc == nil || sc.Server != server {
			continue
		}
		for _, m := range sc.Models {
			if *model == "" {
				*model = m.Name
			}
			if m.Name != *model && !seen[m.Name] {
				seen[m.Name] = true
				out = append(out, m.Name)
			}
		}
	}
	return out
}
