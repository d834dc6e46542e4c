// Command gpurun loads GGUF language models and runs them on NVIDIA GPUs
// (CUDA) or on any CPU.
//
// Each subcommand lives in its own file and stays thin: it parses flags and
// calls into runtime/, so generate, chat, serve and bench share one engine.
package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/urfave/cli/v2"
)

// Exit codes: 0 success, 1 a runtime error, 2 a usage error (bad flags or arguments).
const (
	exitOK      = 0
	exitRuntime = 1
	exitUsage   = 2
)

func main() {
	os.Exit(run(os.Args, os.Stdin, os.Stdout, os.Stderr))
}

// usageError marks an error in how gpurun was called; it exits 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return &usageError{fmt.Sprintf(format, a...)} }

// run is main without os.Exit, so tests can call it in-process.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) (code int) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(stderr, "gpurun: internal error: %v (please report this)\n", r)
			code = exitRuntime
		}
	}()
	app := newApp(stdin, stdout, stderr)
	err := app.Run(args)
	if err == nil {
		return exitOK
	}
	code = exitRuntime
	var ue *usageError
	if errors.As(err, &ue) {
		code = exitUsage
	}
	var ec cli.ExitCoder
	if errors.As(err, &ec) && ec.ExitCode() != 0 {
		code = ec.ExitCode()
	}
	fmt.Fprintf(stderr, "gpurun: %s\n", oneLine(err.Error()))
	return code
}

// oneLine keeps an error message to a single line.
func oneLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = strings.TrimSpace(s[:i]) + " ..."
	}
	return s
}

func newApp(stdin io.Reader, stdout, stderr io.Writer) *cli.App {
	app := &cli.App{
		Name:  "gpurun",
		Usage: "run GGUF language models on NVIDIA GPUs (CUDA) or any CPU",
		Description: "gpurun loads a GGUF model file (Llama-family such as SmolLM2, SmolLM3, TinyLlama,\n" +
			"Llama 2/3, Mistral, Qwen2, Qwen3, Granite 3, EXAONE 3.5, ERNIE 4.5; Gemma 2 and 3; Phi-3 and Phi-4-mini;\n" +
			"OLMo 2; and GPT-2) and generates text. Weights stay quantized: memory-mapped on the CPU,\n" +
			"uploaded once to the GPU.\n\n" +
			"Start with:  make demo            (fetches the default model, builds, generates)\n" +
			"             gpurun info MODEL     (what is inside a GGUF file)",
		Reader:               stdin,
		Writer:               stdout,
		ErrWriter:            stderr,
		HideHelpCommand:      false,
		EnableBashCompletion: false,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "log-level", Value: "warn", Usage: "log verbosity: debug, info, warn, error", EnvVars: []string{"GPURUN_LOG"}},
		},
		Before: func(c *cli.Context) error {
			var lvl slog.Level
			if err := lvl.UnmarshalText([]byte(c.String("log-level"))); err != nil {
				return usagef("--log-level %q: want debug, info, warn or error", c.String("log-level"))
			}
			slog.SetDefault(slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: lvl})))
			return nil
		},
		OnUsageError: onUsageError,
		// Errors are printed once, by run.
		ExitErrHandler: func(*cli.Context, error) {},
		Commands:       commands(),
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usagef("unknown command %q (run 'gpurun --help' for the list)", c.Args().First())
			}
			return cli.ShowAppHelp(c)
		},
	}
	for _, cmd := range app.Commands {
		setUsageErrors(cmd)
	}
	return app
}

// commands lists every subcommand; each is defined in its own file.
func commands() []*cli.Command {
	return []*cli.Command{
		infoCommand(),
		tokenizeCommand(),
		generateCommand(),
		chatCommand(),
		benchCommand(),
		serveCommand(),
	}
}

func setUsageErrors(cmd *cli.Command) {
	cmd.OnUsageError = onUsageError
	for _, sub := range cmd.Subcommands {
		setUsageErrors(sub)
	}
}

func onUsageError(c *cli.Context, err error, isSubcommand bool) error {
	return usagef("%v (see 'gpurun %s --help')", err, strings.TrimPrefix(c.Command.FullName(), "gpurun "))
}
