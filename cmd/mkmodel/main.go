// Command mkmodel writes a GGUF file with random weights in the shape of a
// real model (SmolLM2-135M, Llama-3-8B, Qwen2.5-0.5B, GPT-2 124M, ...; package
// runtime/model/synth), for benchmarks on machines that cannot download
// models: speed depends on shapes and block formats, not on what the weights
// say. gpurun loads and runs the file like any other; the text it writes is
// noise.
//
//	mkmodel -shape llama3-8b -type q4_1 -o /tmp/llama3-8b-q4_1.gguf
package main

import (
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"gpurun/runtime/model/synth"
	"gpurun/runtime/quant"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "mkmodel:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("mkmodel", flag.ContinueOnError)
	names := synth.Names()
	shape := fs.String("shape", "smollm2-135m", "model shape: "+strings.Join(names, ", "))
	typ := fs.String("type", "q4_1", "weight block format of the matrices (q4_0, q4_1, q8_0, q4_k, q5_k, q6_k, f16, f32)")
	embType := fs.String("embed-type", "", "block format of the token embedding (default: -type)")
	layers := fs.Int("layers", 0, "override the number of layers (0: the shape's)")
	out := fs.String("o", "", "output file (required)")
	seed := fs.Uint64("seed", 1, "random seed")
	if err := fs.Parse(args); err != nil {
		return err
	}
	s, ok := synth.Named(*shape)
	if !ok {
		return fmt.Errorf("unknown -shape %q (want one of %s)", *shape, strings.Join(names, ", "))
	}
	if *layers > 0 {
		s.Layers = *layers
	}
	wt, ok := quant.ParseType(*typ)
	if !ok {
		return fmt.Errorf("unknown -type %q", *typ)
	}
	et := wt
	if *embType != "" {
		if et, ok = quant.ParseType(*embType); !ok {
			return fmt.Errorf("unknown -embed-type %q", *embType)
		}
	}
	if *out == "" {
		return fmt.Errorf("-o FILE is required")
	}
	f, err := os.Create(*out)
	if err != nil {
		return err
	}
	defer f.Close()
	w, err := synth.Build(*shape, s, wt, et, *seed)
	if err != nil {
		return err
	}
	n, err := w.WriteTo(f)
	if err != nil {
		return err
	}
	slog.Info("wrote model", "file", *out, "shape", *shape, "type", wt, "bytes", n)
	return f.Close()
}
