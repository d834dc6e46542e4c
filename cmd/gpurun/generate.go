package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"

	"github.com/urfave/cli/v2"

	"gpurun/runtime/engine"
	"gpurun/tokenizer/chat"
)

func generateCommand() *cli.Command {
	return &cli.Command{
		Name:      "generate",
		Aliases:   []string{"gen"},
		Usage:     "continue a prompt: stream the model's text to stdout",
		ArgsUsage: " ",
		Description: "Writes only the continuation (not the prompt) to stdout as tokens arrive, then a stats\n" +
			"line on stderr. Sampling defaults are llama.cpp's; --temperature 0 is greedy and\n" +
			"reproduces llama.cpp's output token for token.\n\n" +
			"Examples:\n" +
			"  gpurun generate -p \"The three primary colors are\" -n 64\n" +
			"  gpurun generate -m model.gguf -p \"Once upon a time\" --temperature 0\n" +
			"  echo \"What is 2+2?\" | gpurun generate --chat -p -\n" +
			"  gpurun generate -p \"Write a haiku\" --chat --seed 7 --device cpu --threads 2",
		Flags: append(append([]cli.Flag{
			&cli.StringFlag{Name: "prompt", Aliases: []string{"p"}, Usage: "the prompt (required); - reads it from standard input"},
			&cli.IntFlag{Name: "n-predict", Aliases: []string{"n"}, Value: 128, Usage: "tokens to generate at most"},
			&cli.BoolFlag{Name: "chat", Usage: "wrap the prompt as one user turn of the model's chat template"},
			&cli.StringFlag{Name: "system", Usage: "with --chat: a system message"},
			&cli.StringSliceFlag{Name: "stop", Usage: "stop before this text (repeatable)"},
			&cli.BoolFlag{Name: "ignore-eos", Usage: "keep generating past end-of-generation tokens"},
			&cli.BoolFlag{Name: "no-bos", Usage: "do not add the BOS token the model would add"},
		}, modelFlags()...), samplingFlags()...),
		Action: runGenerate,
	}
}

func runGenerate(c *cli.Context) error {
	if c.NArg() > 0 {
		return usagef("generate takes no arguments (got %q); put the prompt in -p", c.Args().First())
	}
	if !c.IsSet("prompt") {
		return usagef("generate needs a prompt: -p TEXT, or -p - to read it from standard input")
	}
	g, err := generationFlags(c)
	if err != nil {
		return err
	}
	n, sp, o := g.n, g.sampling, g.engine
	prompt := c.String("prompt")
	if prompt == "-" {
		b, err := io.ReadAll(c.App.Reader)
		if err != nil {
			return fmt.Errorf("reading the prompt from standard input: %w", err)
		}
		prompt = strings.TrimRight(string(b), "\n")
	}

	e, err := engine.Load(o)
	if err != nil {
		return err
	}
	defer e.Close()
	var tokens []int32
	if c.Bool("chat") {
		var msgs []chat.Message
		if sys := c.String("system"); sys != "" {
			msgs = append(msgs, chat.Message{Role: "system", Content: sys})
		}
		msgs = append(msgs, chat.Message{Role: "user", Content: prompt})
		tokens, err = e.ChatTokens(msgs, true)
		if err != nil {
			return err
		}
	} else {
		tokens = e.PromptTokens(prompt, !c.Bool("no-bos"))
	}
	if len(tokens) == 0 {
		return usagef("the prompt is empty and the model adds no BOS token: nothing to continue")
	}

	sess, err := e.NewSession()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	w := bufio.NewWriter(c.App.Writer)
	res, err := sess.Generate(ctx, engine.Request{
		Tokens: tokens, MaxTokens: n, Sampling: sp, Stop: c.StringSlice("stop"), IgnoreEOG: c.Bool("ignore-eos"),
	}, func(text string) error {
		if _, err := w.WriteString(text); err != nil {
			return err
		}
		return w.Flush()
	})
	fmt.Fprintln(w)
	w.Flush()
	if err != nil && res.StopReason != engine.StopCancelled {
		return err
	}
	fmt.Fprintln(c.App.ErrWriter, statsLine(e, res))
	return nil
}

// statsLine is the one-line summary printed on stderr after a generation.
func statsLine(e *engine.Engine, r engine.Result) string {
	return fmt.Sprintf("[%s] load %.0f ms | prompt %d tokens (%d run) %.1f tok/s | generated %d tokens %.1f tok/s | stop: %s",
		e.Backend.Name(), e.LoadTime.Seconds()*1000, r.PromptTokens, r.PromptEval, r.PromptTokensPerSec(),
		len(r.Tokens), r.GenTokensPerSec(), r.StopReason)
}
