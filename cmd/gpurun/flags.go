package main

import (
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/urfave/cli/v2"

	"gpurun/runtime/backend"
	"gpurun/runtime/engine"
	"gpurun/runtime/sampler"
)

// DefaultModel is where `make model` puts the default model.
const DefaultModel = "models/SmolLM2-135M-Instruct.Q4_1.gguf"

// modelFlags are shared by every command that runs a model.
func modelFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "model", Aliases: []string{"m"}, EnvVars: []string{"GPURUN_MODEL"},
			Usage: "GGUF model file (default: $GPURUN_MODEL, else " + DefaultModel + ")"},
		&cli.StringFlag{Name: "device", Value: "auto", Usage: "where to run: auto (CUDA if built in and a GPU is present), cpu, cuda"},
		&cli.IntFlag{Name: "threads", Aliases: []string{"t"}, Usage: "CPU threads (default: one per core)"},
		&cli.IntFlag{Name: "ctx", Aliases: []string{"c"}, Usage: fmt.Sprintf("context size in tokens (default: the model's, at most %d)", engine.DefaultCtx)},
		&cli.StringFlag{Name: "kv-type", Value: "f32", Usage: "KV cache element type: f32 or f16"},
	}
}

// samplingFlags are shared by generate, chat and serve (as defaults).
func samplingFlags() []cli.Flag {
	d := sampler.Defaults()
	return []cli.Flag{
		&cli.Float64Flag{Name: "temperature", Aliases: []string{"temp"}, Value: decimal(d.Temperature), Usage: "sampling temperature; 0 is greedy (deterministic)"},
		&cli.IntFlag{Name: "top-k", Value: d.TopK, Usage: "keep only the k most likely tokens (0: all)"},
		&cli.Float64Flag{Name: "top-p", Value: decimal(d.TopP), Usage: "nucleus sampling: keep the smallest set with this much probability, in (0, 1]"},
		&cli.Float64Flag{Name: "min-p", Value: decimal(d.MinP), Usage: "drop tokens less likely than min-p x the most likely, in [0, 1)"},
		&cli.Float64Flag{Name: "repeat-penalty", Value: decimal(d.RepeatPenalty), Usage: "penalise tokens seen in the last --repeat-last-n (1: off)"},
		&cli.IntFlag{Name: "repeat-last-n", Value: d.RepeatLastN, Usage: "how many recent tokens the repeat penalty considers"},
		&cli.Int64Flag{Name: "seed", Value: -1, Usage: "random seed; the same seed gives the same text (-1: random)"},
	}
}

// decimal widens a float32 default to the float64 with the same shortest
// decimal form (0.8, not 0.800000011920929), which --help prints; converted
// back it is the same float32.
func decimal(f float32) float64 {
	v, _ := strconv.ParseFloat(strconv.FormatFloat(float64(f), 'g', -1, 32), 64)
	return v
}

// samplingParams reads and validates the sampling flags (usage errors).
// generation is what generate and chat read from their flags before they
// load the model: the token budget, the sampling parameters and the engine
// options.
type generation struct {
	n        int
	sampling sampler.Params
	engine   engine.Options
}

func generationFlags(c *cli.Context) (generation, error) {
	g := generation{n: c.Int("n-predict")}
	if err := checkPositive("n-predict", g.n); err != nil {
		return g, err
	}
	var err error
	if g.sampling, err = samplingParams(c); err != nil {
		return g, err
	}
	g.engine, err = engineOptions(c)
	return g, err
}

func samplingParams(c *cli.Context) (sampler.Params, error) {
	p := sampler.Params{
		Temperature:   float32(c.Float64("temperature")),
		TopK:          c.Int("top-k"),
		TopP:          float32(c.Float64("top-p")),
		MinP:          float32(c.Float64("min-p")),
		RepeatPenalty: float32(c.Float64("repeat-penalty")),
		RepeatLastN:   c.Int("repeat-last-n"),
	}
	if err := p.Validate(); err != nil {
		return p, usagef("--%v", err)
	}
	if p.RepeatPenalty == 0 {
		return p, usagef("--repeat-penalty must be > 0 (1 is off), got 0")
	}
	seed := c.Int64("seed")
	if seed < -1 {
		return p, usagef("--seed must be >= 0, or -1 for a random seed; got %d", seed)
	}
	if seed == -1 {
		seed = randomSeed()
	}
	p.Seed = uint64(seed)
	return p, nil
}

// engineOptions reads the model flags (usage errors) and resolves the model path.
func engineOptions(c *cli.Context) (engine.Options, error) {
	o := engine.Options{Device: c.String("device"), Threads: c.Int("threads"), Ctx: c.Int("ctx")}
	if !slices.Contains(engine.Devices, o.Device) {
		return o, usagef("--device %q: want auto, cpu or cuda", o.Device)
	}
	if o.Threads < 0 {
		return o, usagef("--threads must be >= 0, got %d", o.Threads)
	}
	if o.Ctx < 0 {
		return o, usagef("--ctx must be > 0, got %d", o.Ctx)
	}
	switch c.String("kv-type") {
	case "f32":
		o.KVType = backend.F32
	case "f16":
		o.KVType = backend.F16
	default:
		return o, usagef("--kv-type %q: want f32 or f16", c.String("kv-type"))
	}
	path, err := modelPath(c.String("model"))
	if err != nil {
		return o, err
	}
	o.ModelPath = path
	return o, nil
}

// modelPath resolves --model: the flag (or $GPURUN_MODEL), else the default
// model relative to the working directory or to the gpurun binary.
func modelPath(flag string) (string, error) {
	if flag != "" {
		if _, err := os.Stat(flag); errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("model file %s does not exist", flag)
		}
		return flag, nil
	}
	candidates := []string{DefaultModel}
	if exe, err := os.Executable(); err == nil {
		candidates = append(candidates, filepath.Join(filepath.Dir(exe), "..", DefaultModel))
	}
	for _, p := range candidates {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("no model given and the default model %s is missing: run 'make model' (or scripts/fetch-model.sh) to download it, or pass -m FILE", DefaultModel)
}

// checkPositive rejects a flag value <= 0 as a usage error.
func checkPositive(name string, v int) error {
	if v <= 0 {
		return usagef("--%s must be > 0, got %d", name, v)
	}
	return nil
}

func randomSeed() int64 { return rand.Int64() }
