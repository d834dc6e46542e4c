package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"gpurun/bench/attention"
	"gpurun/bench/modelbench"
	"gpurun/bench/report"
	"gpurun/bench/sysinfo"
	"gpurun/runtime/backend"
	"gpurun/runtime/engine"
	"gpurun/runtime/gguf"
	"gpurun/runtime/model"
)

func benchCommand() *cli.Command {
	return &cli.Command{
		Name:  "bench",
		Usage: "measure: the attention-cost study, and llama-bench style model throughput",
		Description: "Numbers, not claims: every result says what was timed, on which machine, at which commit.\n\n" +
			"Examples:\n" +
			"  gpurun bench attention                      (the study on the CPU, about two minutes)\n" +
			"  gpurun bench attention --device cuda --json > attention.json\n" +
			"  gpurun bench model -m model.gguf -t 2       (pp512 and tg128 tokens/s)\n" +
			"  scripts/bench-vs-llamacpp.sh                (the same, side by side with llama.cpp)",
		Subcommands: []*cli.Command{benchAttentionCommand(), benchModelCommand()},
	}
}

// Default upper context lengths of the attention study, per device: the
// CPU default finishes in about two minutes on two cores.
const (
	cpuMaxLen      = 4096
	cudaMaxLen     = 16384
	naiveMaxLenCap = 4096 // the naive method runs on the host, whatever the device
	cpuModelMaxLen = 1024 // a cache-less step at n is a prefill of n tokens
)

func benchAttentionCommand() *cli.Command {
	return &cli.Command{
		Name:      "attention",
		Usage:     "how attention's cost grows with context length: naive, fused, and decoding with and without a KV cache",
		ArgsUsage: " ",
		Description: "For context lengths n = --min-len, 2·min-len, ..., --max-len and one attention layer with the\n" +
			"head layout of a real model (default SmolLM2-135M: 9 query heads, 3 KV heads, head dim 64), times:\n" +
			"  naive           textbook attention over a prompt of n tokens: the n×n score matrix materialised\n" +
			"                  (gorgonia.org/tensor, float32, on the host CPU whatever --device says)\n" +
			"  fused           the backend's fused causal Attention op over a prompt of n tokens (cpu or cuda)\n" +
			"  decode-cache    one generation step at position n with a KV cache (StoreKV + Attention of 1 row)\n" +
			"  decode-nocache  one generation step at position n without one (the prefix's K/V stored again and\n" +
			"                  attention recomputed for all n rows: what a cache-less forward pass must do)\n" +
			"and with --window W, the two with a sliding window of W positions (Gemma's local layers):\n" +
			"  fused-window    the fused op over a prompt of n tokens, each row seeing its last W positions\n" +
			"  decode-window   one cached generation step at position n over the last min(n, W) rows\n" +
			"and with --model FILE, the same two for the whole model (every layer, projections, MLP, logits):\n" +
			"  model-decode-cache    Forward of 1 token over a cache of n-1 positions\n" +
			"  model-decode-nocache  Forward of all n tokens from an empty cache (chunks of --batch)\n" +
			"and reports time, FLOPs, bytes moved, GFLOP/s, GB/s, memory, and the fitted exponent k of time ∝ n^k\n" +
			"(least squares on log-log). Decode steps are timed at the sampled positions n only. Fast points\n" +
			"repeat the run within one sample; slow points stop after --point-budget; --passes sweeps again and\n" +
			"pools the samples (steadier on a shared machine). The output header says\n" +
			"exactly what each method times.\n\n" +
			"Examples:\n" +
			"  gpurun bench attention                                  (markdown on stdout, progress on stderr)\n" +
			"  gpurun bench attention --max-len 2048 --plot attn.png\n" +
			"  gpurun bench attention --device cuda --json > cuda-attention.json\n" +
			"  gpurun bench attention --heads 32 --kv-heads 8 --head-dim 128 --methods fused,decode-cache\n" +
			"  gpurun bench attention --heads 4 --kv-heads 1 --head-dim 256 --window 512 --methods fused,fused-window,decode-cache,decode-window\n" +
			"  gpurun bench attention -m models/SmolLM2-135M-Instruct.Q4_1.gguf --methods model-decode-cache,model-decode-nocache\n" +
			"  gpurun bench attention --from cuda-attention.json --plot cuda-attention.png   (re-render, no measuring)\n" +
			"  python3 scripts/sdpa_peer.py > sdpa.json && gpurun bench attention --from cuda-attention.json --vs-sdpa sdpa.json",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "device", Value: "auto", Usage: "where the fused op and the decode steps run: auto, cpu, cuda"},
			&cli.IntFlag{Name: "threads", Aliases: []string{"t"}, Usage: "CPU threads", DefaultText: "one per core"},
			&cli.IntFlag{Name: "min-len", Value: 128, Usage: "smallest context length n"},
			&cli.IntFlag{Name: "max-len", Usage: "largest context length n", DefaultText: fmt.Sprintf("%d on cpu, %d on cuda", cpuMaxLen, cudaMaxLen)},
			&cli.IntFlag{Name: "naive-max-len", Usage: "largest n for the naive method", DefaultText: fmt.Sprintf("--max-len, at most %d", naiveMaxLenCap)},
			&cli.IntFlag{Name: "heads", Value: attention.SmolLM2.Heads, Usage: "query heads"},
			&cli.IntFlag{Name: "kv-heads", Value: attention.SmolLM2.KVHeads, Usage: "key/value heads (grouped-query attention)"},
			&cli.IntFlag{Name: "head-dim", Value: attention.SmolLM2.HeadDim, Usage: "dimensions per head"},
			&cli.IntFlag{Name: "window", Usage: "also time the sliding-window methods with a window of this many positions (0: off)"},
			&cli.StringFlag{Name: "kv-type", Usage: "KV cache element type: f32 or f16", DefaultText: "f32 on cpu, f16 on cuda"},
			&cli.StringFlag{Name: "methods", Usage: "comma-separated methods to time", DefaultText: "naive,fused,decode-cache,decode-nocache; the -window ones with --window; the model-decode ones with --model"},
			&cli.StringFlag{Name: "model", Aliases: []string{"m"}, Usage: "also time whole-model decode steps with and without a KV cache on this GGUF `FILE`"},
			&cli.IntFlag{Name: "model-max-len", Usage: "largest n for the whole-model methods", DefaultText: fmt.Sprintf("%d on cpu, --max-len on cuda", cpuModelMaxLen)},
			&cli.IntFlag{Name: "batch", Value: 512, Usage: "with --model: most tokens per forward pass"},
			&cli.IntFlag{Name: "reps", Aliases: []string{"r"}, Value: 5, Usage: "timed samples per point at most (after one warm-up run)"},
			&cli.DurationFlag{Name: "min-sample", Value: 20 * time.Millisecond, Usage: "a sample repeats a fast run until it lasts this long"},
			&cli.DurationFlag{Name: "point-budget", Value: 2 * time.Second, Usage: "stop sampling a point after this long (one sample at least)"},
			&cli.IntFlag{Name: "passes", Value: 1, Usage: "sweep all points this many times and pool their samples (steadier on a shared machine)"},
			&cli.Uint64Flag{Name: "seed", Value: 1, Usage: "seed of the random inputs"},
			&cli.BoolFlag{Name: "json", Usage: "print JSON instead of markdown"},
			&cli.BoolFlag{Name: "csv", Usage: "print CSV (one row per method and n) instead of markdown"},
			&cli.StringFlag{Name: "plot", Usage: "also draw `FILE.png`: time and memory against n, log-log, one line per method"},
			&cli.StringFlag{Name: "from", Usage: "render a saved --json result (`FILE.json`) instead of measuring"},
			&cli.StringFlag{Name: "vs-sdpa", Usage: "print a side-by-side table with `FILE.json` from scripts/sdpa_peer.py (PyTorch SDPA)"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "no progress lines on stderr"},
		},
		Action: runBenchAttention,
	}
}

func runBenchAttention(c *cli.Context) error {
	if c.NArg() > 0 {
		return usagef("bench attention takes no arguments (got %q)", c.Args().First())
	}
	if c.Bool("json") && c.Bool("csv") {
		return usagef("--json and --csv are exclusive: pick one output format")
	}
	if p := c.String("plot"); p != "" && !strings.HasSuffix(strings.ToLower(p), ".png") {
		return usagef("--plot %q: the plot is a PNG, name it FILE.png", p)
	}
	var peer *attention.SDPA
	if path := c.String("vs-sdpa"); path != "" {
		f, err := os.Open(path)
		if err != nil {
			return fmt.Errorf("--vs-sdpa: %w", err)
		}
		peer, err = attention.ReadSDPA(f)
		f.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	}
	var rep *attention.Report
	if from := c.String("from"); from != "" {
		f, err := os.Open(from)
		if err != nil {
			return fmt.Errorf("--from: %w", err)
		}
		rep, err = attention.ReadJSON(f)
		f.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", from, err)
		}
	} else {
		var err error
		if rep, err = measureAttention(c); err != nil {
			return err
		}
	}
	if p := c.String("plot"); p != "" {
		if err := rep.WritePNGFile(p); err != nil {
			return err
		}
	}
	w := c.App.Writer
	switch {
	case peer != nil:
		return rep.WriteSDPAComparison(w, peer)
	case c.Bool("json"):
		return rep.WriteJSON(w)
	case c.Bool("csv"):
		return rep.WriteCSV(w)
	}
	return rep.WriteMarkdown(w)
}

func measureAttention(c *cli.Context) (*attention.Report, error) {
	device := c.String("device")
	switch device {
	case "auto", "cpu", "cuda":
	default:
		return nil, usagef("--device %q: want auto, cpu or cuda", device)
	}
	for _, name := range []string{"min-len", "heads", "kv-heads", "head-dim", "reps", "passes"} {
		if err := checkPositive(name, c.Int(name)); err != nil {
			return nil, err
		}
	}
	for _, name := range []string{"threads", "max-len", "naive-max-len", "window"} {
		if v := c.Int(name); v < 0 {
			return nil, usagef("--%s must be >= 0, got %d", name, v)
		}
	}
	shape := attention.Shape{Heads: c.Int("heads"), KVHeads: c.Int("kv-heads"), HeadDim: c.Int("head-dim"), Window: c.Int("window")}
	if err := shape.Validate(); err != nil {
		return nil, usagef("--heads/--kv-heads/--head-dim/--window: %v", err)
	}
	var methods []attention.Method
	if list := c.String("methods"); list != "" {
		for _, s := range strings.Split(list, ",") {
			m, err := attention.ParseMethod(strings.TrimSpace(s))
			if err != nil {
				return nil, usagef("--methods: %v", err)
			}
			if strings.HasPrefix(string(m), "model-") && c.String("model") == "" {
				return nil, usagef("--methods %s needs a model: pass --model FILE", m)
			}
			if strings.HasSuffix(string(m), "-window") && shape.Window == 0 {
				return nil, usagef("--methods %s needs a sliding window: pass --window N", m)
			}
			methods = append(methods, m)
		}
	}
	if err := checkPositive("batch", c.Int("batch")); err != nil {
		return nil, err
	}
	if v := c.Int("model-max-len"); v < 0 {
		return nil, usagef("--model-max-len must be >= 0, got %d", v)
	}
	kvFlag := c.String("kv-type")
	switch kvFlag {
	case "", "f32", "f16":
	default:
		return nil, usagef("--kv-type %q: want f32 or f16", kvFlag)
	}

	if t := c.Int("threads"); t > 0 {
		// The naive method's gonum Sgemm uses GOMAXPROCS threads: the same
		// count as the backend's workers keeps the comparison fair.
		runtime.GOMAXPROCS(t)
	}
	b, err := engine.OpenBackend(device, c.Int("threads"))
	if err != nil {
		return nil, err
	}
	defer b.Close()
	onDevice := b.Name() != "cpu"
	maxLen := c.Int("max-len")
	if maxLen == 0 {
		maxLen = map[bool]int{false: cpuMaxLen, true: cudaMaxLen}[onDevice]
	}
	if maxLen < c.Int("min-len") {
		return nil, usagef("--max-len %d is below --min-len %d", maxLen, c.Int("min-len"))
	}
	lengths, err := attention.Lengths(c.Int("min-len"), maxLen)
	if err != nil {
		return nil, usagef("%v", err)
	}
	naiveMax := c.Int("naive-max-len")
	if naiveMax == 0 {
		naiveMax = min(maxLen, naiveMaxLenCap)
	}
	kv := backend.F32
	if kvFlag == "f16" || (kvFlag == "" && onDevice) {
		kv = backend.F16
	}
	cfg := attention.Config{
		Shape: shape, Lengths: lengths, Methods: methods, NaiveMaxLen: naiveMax, KVType: kv,
		Reps: c.Int("reps"), MinSample: c.Duration("min-sample"), PointBudget: c.Duration("point-budget"), Seed: c.Uint64("seed"),
		Passes: c.Int("passes"),
	}
	if flag := c.String("model"); flag != "" {
		path, err := modelPath(flag)
		if err != nil {
			return nil, err
		}
		f, err := gguf.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		m, err := model.Load(f, b, model.Options{MaxBatch: c.Int("batch")})
		if err != nil {
			return nil, err
		}
		in := model.Describe(f)
		cfg.Model, cfg.ModelShape = m, attention.NewModelShape(path, in.Name, m, in.WeightBytes)
		cfg.ModelMaxLen = c.Int("model-max-len")
		maxPos := m.Config().MaxPos // learned positions (gpt2) bound n
		if cfg.ModelMaxLen == 0 {
			cfg.ModelMaxLen = map[bool]int{false: min(maxLen, cpuModelMaxLen), true: maxLen}[onDevice]
			if maxPos > 0 {
				cfg.ModelMaxLen = min(cfg.ModelMaxLen, maxPos)
			}
		}
		if maxPos > 0 && cfg.ModelMaxLen > maxPos {
			return nil, usagef("--model-max-len %d exceeds the %d positions this %s model has embeddings for", cfg.ModelMaxLen, maxPos, m.Config().Arch)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	progress := func(p attention.Point) {
		fmt.Fprintf(c.App.ErrWriter, "%-14s n=%-6d %9s  %8s GFLOP/s  %8s GB/s\n", p.Method, p.N,
			report.Seconds(p.Seconds), report.Sig3(p.GFLOPS), report.Sig3(p.GBps))
	}
	if c.Bool("quiet") {
		progress = nil
	} else {
		fmt.Fprintf(c.App.ErrWriter, "bench attention on %s, n = %d..%d (naive up to %d), KV %s\n",
			b.Name(), lengths[0], lengths[len(lengths)-1], naiveMax, kv)
		if cfg.Model != nil {
			fmt.Fprintf(c.App.ErrWriter, "whole model %s, n up to %d\n", cfg.ModelShape.Path, cfg.ModelMaxLen)
		}
	}
	return attention.Run(ctx, b, cfg, sysinfo.Collect(ctx, time.Now()), progress)
}

func benchModelCommand() *cli.Command {
	return &cli.Command{
		Name:      "model",
		Usage:     "llama-bench style throughput: prompt processing (pp512) and generation (tg128) in tokens/s",
		ArgsUsage: " ",
		Description: "Follows llama-bench's procedure so that the numbers compare:\n" +
			"  ppN  from an empty KV cache, N tokens (BOS, then random ids) through the model in chunks of\n" +
			"       --batch tokens; tokens/s = N / time\n" +
			"  tgN  from an empty KV cache, N single-token forward passes, waiting for each; tokens/s = N / time\n" +
			"  @ dD with --depth D: the cache already holds D tokens (filled untimed before every run)\n" +
			"Each test runs once untimed (warm-up), then --repetitions times; t/s is the mean ± the sample\n" +
			"standard deviation of the per-run rates. No sampling or detokenizing is timed.\n\n" +
			"Examples:\n" +
			"  gpurun bench model                                  (the default model, all cores)\n" +
			"  gpurun bench model -m model.gguf -t 2 -r 3 --json > gpurun.json\n" +
			"  gpurun bench model --device cuda -p 512 -n 128\n" +
			"  gpurun bench model -p 0 -n 64 -d 4096               (decoding with 4096 tokens of context)\n" +
			"  gpurun bench model --from gpurun.json --vs-llamacpp llamacpp.json   (side by side with llama-bench -o json)\n" +
			"  scripts/bench-vs-llamacpp.sh                        (builds llama-bench and does all of the above)\n\n" +
			"On the CPU the report names the kernel set (avx512vnni, avx2, generic). GPURUN_QUANT_NOVNNI=1\n" +
			"runs the AVX2 kernels (as on a CPU without AVX-512), GPURUN_QUANT_NOASM=1 the portable Go ones:\n" +
			"  GPURUN_QUANT_NOVNNI=1 gpurun bench model -t 2       (scripts/bench-vs-llamacpp.sh -a avx2 does this)\n\n" +
			"On CUDA, GPURUN_CUDA_PROFILE=FILE times every kernel launch (CUDA graphs off) and writes a\n" +
			"per-kernel table to FILE at the end:\n" +
			"  GPURUN_CUDA_PROFILE=kernels.txt gpurun bench model --device cuda -r 1\n\n" +
			"Prefill of quantized models on CUDA runs the matrix-vector kernels in tiles of prompt rows, with\n" +
			"the CPU's 8-bit arithmetic; GPURUN_CUDA_GEMM_PREFILL=1 uses the f16 tensor-core GEMM instead:\n" +
			"  GPURUN_CUDA_GEMM_PREFILL=1 gpurun bench model --device cuda -n 0",
		Flags: append([]cli.Flag{
			&cli.IntFlag{Name: "n-prompt", Aliases: []string{"p"}, Value: 512, Usage: "tokens of the prompt-processing test (0: skip it)"},
			&cli.IntFlag{Name: "n-gen", Aliases: []string{"n"}, Value: 128, Usage: "tokens of the generation test (0: skip it)"},
			&cli.IntFlag{Name: "depth", Aliases: []string{"d"}, Usage: "tokens already in the KV cache when each test starts (llama-bench's -d; filled untimed before every run): `tg128 @ d4096` is decoding with 4096 tokens of context"},
			&cli.IntFlag{Name: "repetitions", Aliases: []string{"r"}, Value: 5, Usage: "timed runs of each test"},
			&cli.IntFlag{Name: "batch", Aliases: []string{"b"}, Value: 512, Usage: "most tokens per forward pass (llama-bench's n_ubatch)"},
			&cli.BoolFlag{Name: "no-warmup", Usage: "skip the untimed warm-up run"},
			&cli.Uint64Flag{Name: "seed", Value: 1, Usage: "seed of the random token ids"},
			&cli.BoolFlag{Name: "json", Usage: "print JSON instead of markdown"},
			&cli.StringFlag{Name: "from", Usage: "render a saved --json result (`FILE.json`) instead of measuring"},
			&cli.StringFlag{Name: "vs-llamacpp", Usage: "print a side-by-side table with `FILE.json` from llama-bench -o json"},
		}, modelFlags()...),
		Action: runBenchModel,
	}
}

func runBenchModel(c *cli.Context) error {
	if c.NArg() > 0 {
		return usagef("bench model takes no arguments (got %q); the model goes in -m", c.Args().First())
	}
	var lb []modelbench.LlamaBenchTest
	if path := c.String("vs-llamacpp"); path != "" {
		f, err := os.Open(path)
		if err != nil {
			return fmt.Errorf("--vs-llamacpp: %w", err)
		}
		lb, err = modelbench.ReadLlamaBench(f)
		f.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	}
	var rep *modelbench.Report
	if from := c.String("from"); from != "" {
		f, err := os.Open(from)
		if err != nil {
			return fmt.Errorf("--from: %w", err)
		}
		rep, err = modelbench.ReadJSON(f)
		f.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", from, err)
		}
	} else {
		var err error
		if rep, err = measureModel(c); err != nil {
			return err
		}
	}
	w := c.App.Writer
	switch {
	case lb != nil:
		return rep.WriteComparison(w, lb)
	case c.Bool("json"):
		return rep.WriteJSON(w)
	}
	return rep.WriteMarkdown(w)
}

func measureModel(c *cli.Context) (*modelbench.Report, error) {
	pp, tg, depth := c.Int("n-prompt"), c.Int("n-gen"), c.Int("depth")
	switch {
	case pp < 0 || tg < 0:
		return nil, usagef("-p and -n must be >= 0 (got %d and %d)", pp, tg)
	case depth < 0:
		return nil, usagef("--depth must be >= 0 (got %d)", depth)
	case pp == 0 && tg == 0:
		return nil, usagef("-p 0 and -n 0: nothing to measure")
	}
	if err := checkPositive("repetitions", c.Int("repetitions")); err != nil {
		return nil, err
	}
	if err := checkPositive("batch", c.Int("batch")); err != nil {
		return nil, err
	}
	o, err := engineOptions(c)
	if err != nil {
		return nil, err
	}
	o.MaxBatch = c.Int("batch")
	ctxLen := o.Ctx
	if ctxLen != 0 && ctxLen < depth+max(pp, tg) {
		return nil, usagef("--ctx %d cannot hold -p %d or -n %d after --depth %d", ctxLen, pp, tg, depth)
	}
	o.Ctx = 0 // the benchmark sizes its own cache (depth + pp + tg, as llama-bench)
	e, err := engine.Load(o)
	if err != nil {
		return nil, err
	}
	defer e.Close()
	info := modelbench.ModelInfo{Path: o.ModelPath, Name: e.Info.Name, Arch: e.Info.Architecture, FileType: e.Info.FileType,
		Bytes: e.Info.WeightBytes, Params: e.Info.Parameters}
	bos := int32(-1)
	if e.Tok.AddBOS() {
		bos = e.Tok.BOS()
	}
	cfg := modelbench.Config{Prompt: pp, Gen: tg, Depth: depth, Reps: c.Int("repetitions"), NoWarmup: c.Bool("no-warmup"),
		CtxLen: ctxLen, KVType: o.KVType, BOS: bos, Seed: c.Uint64("seed")}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	errw := c.App.ErrWriter
	fmt.Fprintf(errw, "bench model %s on %s\n", o.ModelPath, e.Backend.Name())
	return modelbench.Run(ctx, e.Model, cfg, info, sysinfo.Collect(ctx, time.Now()), func(t modelbench.Test) {
		printTest(errw, t)
	})
}

func printTest(w io.Writer, t modelbench.Test) {
	fmt.Fprintf(w, "%-8s %10.2f ± %.2f t/s\n", t.Name, t.AvgTS, t.StdTS)
}
