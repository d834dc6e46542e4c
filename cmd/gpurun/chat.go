package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"

	"github.com/urfave/cli/v2"

	"gpurun/runtime/engine"
	"gpurun/tokenizer/chat"
)

func chatCommand() *cli.Command {
	return &cli.Command{
		Name:      "chat",
		Usage:     "talk with a model interactively, using its chat template",
		ArgsUsage: " ",
		Description: "Reads one user message per line from standard input and streams the assistant's reply.\n" +
			"The conversation is rendered with the model's own chat template (tokenizer.chat_template,\n" +
			"ChatML for SmolLM2) and the KV cache is kept between turns, so each turn runs only its\n" +
			"new tokens. Type /reset to start over, /exit (or Ctrl-D) to leave.\n\n" +
			"Examples:\n" +
			"  gpurun chat\n" +
			"  gpurun chat -m model.gguf --system \"You answer in one sentence.\" --temperature 0",
		Flags: append(append([]cli.Flag{
			&cli.StringFlag{Name: "system", Usage: "a system message that starts the conversation"},
			&cli.IntFlag{Name: "n-predict", Aliases: []string{"n"}, Value: 512, Usage: "tokens per reply at most"},
		}, modelFlags()...), samplingFlags()...),
		Action: runChat,
	}
}

func runChat(c *cli.Context) error {
	if c.NArg() > 0 {
		return usagef("chat takes no arguments (got %q)", c.Args().First())
	}
	g, err := generationFlags(c)
	if err != nil {
		return err
	}
	n, sp, o := g.n, g.sampling, g.engine
	e, err := engine.Load(o)
	if err != nil {
		return err
	}
	defer e.Close()
	if e.Tok.ChatTemplate() == "" {
		return fmt.Errorf("%s has no chat template; use 'gpurun generate' instead", o.ModelPath)
	}
	sess, err := e.NewSession()
	if err != nil {
		return err
	}

	var system []chat.Message
	if s := c.String("system"); s != "" {
		system = []chat.Message{{Role: "system", Content: s}}
	}
	msgs := append([]chat.Message(nil), system...)
	in := bufio.NewScanner(c.App.Reader)
	in.Buffer(make([]byte, 0, 64*1024), 1<<20)
	out := bufio.NewWriter(c.App.Writer)
	errw := c.App.ErrWriter
	fmt.Fprintf(errw, "chatting with %s on %s (context %d tokens). /reset starts over, /exit leaves.\n", o.ModelPath, e.Backend.Name(), e.Ctx)
	for {
		fmt.Fprint(errw, "> ")
		if !in.Scan() {
			fmt.Fprintln(errw)
			return in.Err()
		}
		line := strings.TrimSpace(in.Text())
		switch line {
		case "":
			continue
		case "/exit", "/quit", "/bye":
			return nil
		case "/reset":
			msgs = append(msgs[:0], system...)
			fmt.Fprintln(errw, "(conversation cleared)")
			continue
		}
		msgs = append(msgs, chat.Message{Role: "user", Content: line})
		tokens, err := e.ChatTokens(msgs, true)
		if err != nil {
			return err
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
		res, err := sess.Generate(ctx, engine.Request{Tokens: tokens, MaxTokens: n, Sampling: sp}, func(text string) error {
			out.WriteString(text)
			return out.Flush()
		})
		stop()
		fmt.Fprintln(out)
		out.Flush()
		var tooLong *engine.PromptTooLongError
		switch {
		case errors.As(err, &tooLong):
			fmt.Fprintf(errw, "the conversation no longer fits the context (%d tokens); /reset to start over or raise --ctx\n", e.Ctx)
			msgs = msgs[:len(msgs)-1]
			continue
		case err != nil && res.StopReason != engine.StopCancelled:
			return err
		}
		msgs = append(msgs, chat.Message{Role: "assistant", Content: res.Text})
		sp.Seed++ // a fresh draw each turn, still reproducible from --seed
	}
}
