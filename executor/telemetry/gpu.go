package telemetry

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// GPUQuery is the nvidia-smi query benchplan runs, with
// --format=csv,noheader,nounits.
const GPUQuery = "index,name,utilization.gpu,memory.used,memory.total,power.draw,temperature.gpu"

// gpuGiveUp is how many failed calls in a row, before any success, stop
// GPU sampling for the step.
const gpuGiveUp = 3

// gpuSampler runs nvidia-smi.
type gpuSampler struct {
	path    string
	timeout time.Duration
	fails   int  // failures in a row before any success
	gone    bool // gave up: nvidia-smi does not work here
}

// gpuRec holds the GPU samples.
type gpuRec struct {
	samples     []gpuSample
	ok          int
	failures    int
	lastErr     string
	unavailable string
}

// gpuSample is one nvidia-smi call's readings.
type gpuSample struct {
	at   time.Duration
	gpus []GPUReading
}

// GPUReading is one GPU's line of nvidia-smi output. A value nvidia-smi
// did not report ([N/A], [Not Supported]) is NaN.
type GPUReading struct {
	Index int
	Name  string
	// Utilization is a fraction, 0 to 1.
	Utilization float64
	// MemoryUsed and MemoryTotal are bytes.
	MemoryUsed, MemoryTotal float64
	// Power is watts; Temperature degrees Celsius.
	Power, Temperature float64
}

func (g *gpuSampler) sample(ctx context.Context, origin time.Time, rec *Recording) bool {
	ctx, cancel := context.WithTimeout(ctx, g.timeout)
	defer cancel()
	sent := time.Now()
	readings, err := g.query(ctx)
	at := sent.Sub(origin) + time.Since(sent)/2
	r := &rec.gpu
	if err != nil {
		if errors.Is(ctx.Err(), context.Canceled) {
			return false // stopped while it ran
		}
		r.failures++
		r.lastErr = err.Error()
		if r.ok == 0 {
			g.fails++
			var ee *exec.Error
			if errors.As(err, &ee) || g.fails >= gpuGiveUp {
				g.gone = true
				return false
			}
		}
		return true
	}
	r.ok++
	r.samples = append(r.samples, gpuSample{at: at, gpus: readings})
	return true
}

// GPUNames names this machine's GPUs, as RunGPUs does from a run's
// samples, by running nvidia-smi once; nil when there is none, no
// nvidia-smi, or it fails within ctx.
func GPUNames(ctx context.Context) []string {
	path, err := exec.LookPath("nvidia-smi")
	if err != nil {
		return nil
	}
	rs, err := (&gpuSampler{path: path}).query(ctx)
	if err != nil {
		return nil
	}
	names := make([]string, len(rs))
	for i, r := range rs {
		names[i] = r.Name
	}
	return names
}

// query runs nvidia-smi once.
func (g *gpuSampler) query(ctx context.Context) ([]GPUReading, error) {
	cmd := exec.CommandContext(ctx, g.path, "--query-gpu="+GPUQuery, "--format=csv,noheader,nounits")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = time.Second
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("nvidia-smi: %w", ctx.Err())
		}
		msg := firstLine(stderr.String())
		if msg == "" {
			msg = firstLine(stdout.String()) // NVIDIA-SMI has failed because ...
		}
		if msg != "" {
			return nil, fmt.Errorf("nvidia-smi: %w: %s", err, msg)
		}
		return nil, fmt.Errorf("nvidia-smi: %w", err)
	}
	rs, err := ParseNvidiaSMI(stdout.Bytes())
	if err != nil {
		return nil, fmt.Errorf("nvidia-smi: %w", err)
	}
	if len(rs) == 0 {
		return nil, errors.New("nvidia-smi listed no GPU")
	}
	return rs, nil
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	line, _, _ := strings.Cut(s, "\n")
	return strings.TrimSpace(line)
}

// ParseNvidiaSMI reads the output of
// `nvidia-smi --query-gpu=GPUQuery --format=csv,noheader,nounits`, one
// line per GPU: "0, NVIDIA H100 80GB HBM3, 37, 71234, 81559, 312.45, 54".
// Values that are not numbers ([N/A], [Not Supported], [Unknown Error])
// are NaN: missing, not zero. Units, when present (MiB, W, %), are
// ignored. Memory is converted from MiB to bytes and utilisation from
// percent to a fraction.
func ParseNvidiaSMI(out []byte) ([]GPUReading, error) {
	var rs []GPUReading
	for n, line := range strings.Split(string(out), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		f := strings.Split(line, ",")
		if len(f) < 7 {
			return nil, fmt.Errorf("line %d: %d fields, want 7: %q", n+1, len(f), line)
		}
		// A name with a comma in it: the fields around it are fixed.
		name := strings.TrimSpace(strings.Join(f[1:len(f)-5], ","))
		vals := f[len(f)-5:]
		idx, err := strconv.Atoi(strings.TrimSpace(f[0]))
		if err != nil {
			return nil, fmt.Errorf("line %d: GPU index %q is not a number", n+1, strings.TrimSpace(f[0]))
		}
		r := GPUReading{
			Index:       idx,
			Name:        name,
			Utilization: smiNumber(vals[0]) / 100,
			MemoryUsed:  smiNumber(vals[1]) * (1 << 20),
			MemoryTotal: smiNumber(vals[2]) * (1 << 20),
			Power:       smiNumber(vals[3]),
			Temperature: smiNumber(vals[4]),
		}
		rs = append(rs, r)
	}
	return rs, nil
}

// smiNumber reads one value, NaN when it is not a number.
func smiNumber(s string) float64 {
	s = strings.TrimSpace(s)
	for _, unit := range []string{"MiB", "W", "%", "C"} {
		s = strings.TrimSpace(strings.TrimSuffix(s, unit))
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(v, 0) {
		return math.NaN()
	}
	return v
}
