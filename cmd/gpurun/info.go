package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"gpurun/runtime/gguf"
	"gpurun/runtime/kvcache"
	"gpurun/runtime/model"
)

func infoCommand() *cli.Command {
	return &cli.Command{
		Name:      "info",
		Usage:     "describe a GGUF model file: architecture, sizes, tokenizer, tensors, memory",
		ArgsUsage: "MODEL.gguf",
		Description: "Reads only the header and tensor table (the file is memory-mapped, weights are not touched).\n\n" +
			"Examples:\n" +
			"  gpurun info models/SmolLM2-135M-Instruct.Q4_1.gguf\n" +
			"  gpurun info --json model.gguf | jq .parameters\n" +
			"  gpurun info --kv model.gguf        (also list every metadata key)",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "json", Usage: "print JSON instead of a table"},
			&cli.BoolFlag{Name: "kv", Usage: "also print every metadata key/value pair"},
			&cli.BoolFlag{Name: "tensors", Usage: "also print every tensor (name, type, shape, bytes)"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usagef("info needs exactly one MODEL.gguf argument (got %d)", c.NArg())
			}
			path := c.Args().First()
			f, err := gguf.Open(path)
			if err != nil {
				return err
			}
			defer f.Close()
			in := model.Describe(f)
			in.Path = path
			w := c.App.Writer
			if c.Bool("json") {
				return writeInfoJSON(w, f, in, c.Bool("kv"), c.Bool("tensors"))
			}
			writeInfoText(w, f, in, c.Bool("kv"), c.Bool("tensors"))
			return nil
		},
	}
}

func writeInfoJSON(w io.Writer, f *gguf.File, in model.Info, withKV, withTensors bool) error {
	out := struct {
		model.Info
		Metadata map[string]any `json:"metadata,omitempty"`
		Tensors  []tensorRow    `json:"tensors,omitempty"`
	}{Info: in}
	if withKV {
		out.Metadata = map[string]any{}
		for _, kv := range f.KVs {
			out.Metadata[kv.Key] = kv.Value.V
		}
	}
	if withTensors {
		out.Tensors = tensorRows(f)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

type tensorRow struct {
	Name  string   `json:"name"`
	Type  string   `json:"type"`
	Shape []uint64 `json:"shape"`
	Bytes int64    `json:"bytes"`
}

func tensorRows(f *gguf.File) []tensorRow {
	rows := make([]tensorRow, len(f.Tensors))
	for i, t := range f.Tensors {
		rows[i] = tensorRow{t.Name, t.Type.String(), t.Dims, t.Size}
	}
	return rows
}

func writeInfoText(w io.Writer, f *gguf.File, in model.Info, withKV, withTensors bool) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	row := func(k string, v any) {
		switch x := v.(type) {
		case string:
			if x == "" {
				return
			}
		case uint32:
			if x == 0 {
				return
			}
		case float32:
			if x == 0 {
				return
			}
		}
		fmt.Fprintf(tw, "%s\t%v\n", k, v)
	}
	row("file", fmt.Sprintf("%s (%s, GGUF v%d)", in.Path, kvcache.HumanBytes(in.FileBytes), in.GGUFVersion))
	row("architecture", in.Architecture)
	row("name", in.Name)
	row("parameters", fmt.Sprintf("%s (%d)", humanCount(in.Parameters), in.Parameters))
	row("file type", in.FileType)
	row("context length", in.ContextLength)
	row("layers", in.Layers)
	row("heads", in.Heads)
	row("kv heads", in.KVHeads)
	row("head dim", in.HeadDim)
	row("embedding", in.Embedding)
	row("feed-forward", in.FeedForward)
	if in.Experts > 0 {
		ex := fmt.Sprintf("%d, %d per token", in.Experts, in.ExpertsUsed)
		if in.ExpertFFN > 0 {
			ex += fmt.Sprintf(", %d rows each", in.ExpertFFN)
		}
		if in.SharedFFN > 0 {
			ex += fmt.Sprintf("; a shared expert of %d rows", in.SharedFFN)
		}
		switch {
		case in.DenseLead == 1:
			ex += "; layer 0 dense"
		case in.DenseLead > 1:
			ex += fmt.Sprintf("; layers 0-%d dense", in.DenseLead-1)
		}
		row("experts", ex)
		if in.ActiveParameters > 0 {
			row("active parameters", fmt.Sprintf("%s per token (%d)", humanCount(in.ActiveParameters), in.ActiveParameters))
		}
	}
	if in.RopeDim > 0 {
		rope := fmt.Sprintf("dims %d, freq base %g", in.RopeDim, in.RopeFreqBase)
		if in.RopeFactors {
			rope += ", frequency factors (rope_freqs.weight)"
		}
		if in.RopeLongShort {
			rope += ", LongRoPE factors (long past the original context, short within it)"
		}
		if in.RopeScaling != "" {
			rope += ", scaling " + in.RopeScaling
		}
		row("rope", rope)
	}
	if in.SlidingWindow > 0 {
		row("sliding window", fmt.Sprintf("%d positions (local layers)", in.SlidingWindow))
	}
	if in.AttnSoftcap > 0 || in.FinalSoftcap > 0 {
		row("soft-capping", fmt.Sprintf("attention %g, logits %g", in.AttnSoftcap, in.FinalSoftcap))
	}
	row("norm epsilon", in.NormEps)
	tok := in.TokenizerModel
	if in.PreTokenizer != "" {
		tok += " (pre-tokenizer " + in.PreTokenizer + ")"
	}
	row("tokenizer", tok)
	if in.VocabSize > 0 {
		row("vocab size", fmt.Sprint(in.VocabSize))
	}
	row("chat template", map[bool]string{true: "yes", false: "no"}[in.ChatTemplate])
	var types []string
	for _, t := range in.Tensors {
		types = append(types, fmt.Sprintf("%s x%d %s", t.Type, t.Count, kvcache.HumanBytes(t.Bytes)))
	}
	row("tensors", fmt.Sprintf("%d", in.TensorCount))
	if len(types) > 0 {
		row("tensor types", strings.Join(types, ", "))
	}
	if in.KVCacheBytesF32 > 0 {
		row("memory", fmt.Sprintf("weights %s + KV cache at %d tokens %s (f32) / %s (f16) = %s / %s",
			kvcache.HumanBytes(in.WeightBytes), in.ContextLength, kvcache.HumanBytes(in.KVCacheBytesF32), kvcache.HumanBytes(in.KVCacheBytesF16),
			kvcache.HumanBytes(in.WeightBytes+in.KVCacheBytesF32), kvcache.HumanBytes(in.WeightBytes+in.KVCacheBytesF16)))
		if in.KVWindowLayers > 0 {
			row("", fmt.Sprintf("(%d sliding-window layers keep %d rows each: their window and a batch)", in.KVWindowLayers, in.KVWindowRows))
		}
	}
	tw.Flush()
	if withKV {
		fmt.Fprintln(w, "\nmetadata:")
		for _, kv := range f.KVs {
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", kv.Key, kv.Value.TypeName(), kv.Value)
		}
		tw.Flush()
	}
	if withTensors {
		fmt.Fprintln(w, "\ntensors:")
		for _, t := range tensorRows(f) {
			fmt.Fprintf(tw, "  %s\t%s\t%v\t%s\n", t.Name, t.Type, t.Shape, kvcache.HumanBytes(t.Bytes))
		}
		tw.Flush()
	}
}

func humanCount(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.2fB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.1fM", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.1fK", float64(n)/1e3)
	}
	return fmt.Sprint(n)
}
