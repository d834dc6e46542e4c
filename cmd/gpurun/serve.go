package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"gpurun/runtime/engine"
	"gpurun/runtime/kvcache"
	"gpurun/runtime/server"
)

func serveCommand() *cli.Command {
	return &cli.Command{
		Name:      "serve",
		Usage:     "serve a model over an OpenAI-compatible HTTP API",
		ArgsUsage: " ",
		Description: "Loads the model once and answers HTTP requests until SIGTERM or Ctrl-C. Up to --parallel\n" +
			"requests are generated at once, each in its own KV cache slot; their decode steps run\n" +
			"together in one forward pass (continuous batching). More requests wait in a first-come,\n" +
			"first-served queue. A client that disconnects cancels its generation. On SIGTERM the\n" +
			"server stops accepting connections, lets requests in flight finish for up to\n" +
			"--shutdown-grace, and exits 0 (a second signal kills it).\n\n" +
			"Endpoints:\n" +
			"  POST /v1/completions       continue a prompt (fields: model, prompt, max_tokens, temperature,\n" +
			"                             top_p, top_k, min_p, repeat_penalty, seed, stop, stream)\n" +
			"  POST /v1/chat/completions  answer messages rendered with the model's chat template\n" +
			"                             (same fields, with messages instead of prompt)\n" +
			"  GET  /v1/models            the model served (its file name; general.name also accepted)\n" +
			"  GET  /health               200 while serving, 503 while shutting down\n" +
			"  GET  /metrics              Prometheus metrics (requests, tokens, time to first token, ...)\n" +
			"With \"stream\": true the answer comes as Server-Sent Events in OpenAI's chunk format,\n" +
			"ending with \"data: [DONE]\". Sampling fields a request leaves out take the flags' values;\n" +
			"the same seed and parameters give the same text as 'gpurun generate'.\n\n" +
			"Examples:\n" +
			"  gpurun serve -m models/SmolLM2-135M-Instruct.Q4_1.gguf --parallel 8\n" +
			"  curl http://127.0.0.1:8080/v1/chat/completions -H 'Content-Type: application/json' \\\n" +
			"    -d '{\"messages\": [{\"role\": \"user\", \"content\": \"What is 2+2?\"}], \"max_tokens\": 64}'\n" +
			"  curl -N http://127.0.0.1:8080/v1/completions -H 'Content-Type: application/json' \\\n" +
			"    -d '{\"prompt\": \"Once upon a time\", \"max_tokens\": 64, \"seed\": 7, \"stream\": true}'",
		Flags: append(append([]cli.Flag{
			&cli.StringFlag{Name: "host", Value: "127.0.0.1", Usage: "address to listen on (0.0.0.0: every interface)"},
			&cli.IntFlag{Name: "port", Value: 8080, Usage: "TCP port (0: any free port; the address is printed on stderr)"},
			&cli.IntFlag{Name: "parallel", Aliases: []string{"np"}, Value: 4, Usage: "requests generated at once, each with a KV cache of --ctx tokens"},
			&cli.IntFlag{Name: "max-queue", Value: 64, Usage: "requests that may wait for a free slot; more get 503 (0: no limit)"},
			&cli.IntFlag{Name: "max-tokens", Value: server.DefaultMaxTokens, Usage: "cap on a request's max_tokens, and its default"},
			&cli.DurationFlag{Name: "timeout", Value: server.DefaultTimeout, Usage: "longest a request may take, queue wait included"},
			&cli.DurationFlag{Name: "shutdown-grace", Value: 30 * time.Second, Usage: "on SIGTERM, how long requests in flight may take to finish"},
			&cli.Int64Flag{Name: "max-body", Value: server.DefaultMaxBodyBytes, Usage: "request body limit in bytes (413 beyond)"},
			&cli.IntFlag{Name: "prefill-chunk", Value: engine.DefaultPrefillChunk, Usage: "prompt tokens run per step next to decoding requests"},
		}, modelFlags()...), samplingFlags()...),
		Action: runServe,
	}
}

func runServe(c *cli.Context) error {
	if c.NArg() > 0 {
		return usagef("serve takes no arguments (got %q)", c.Args().First())
	}
	parallel := c.Int("parallel")
	for _, f := range []string{"parallel", "max-tokens", "prefill-chunk"} {
		if err := checkPositive(f, c.Int(f)); err != nil {
			return err
		}
	}
	if p := c.Int("port"); p < 0 || p > 65535 {
		return usagef("--port must be in [0, 65535], got %d", p)
	}
	if q := c.Int("max-queue"); q < 0 {
		return usagef("--max-queue must be >= 0, got %d", q)
	}
	if d := c.Duration("timeout"); d <= 0 {
		return usagef("--timeout must be > 0, got %s", d)
	}
	if d := c.Duration("shutdown-grace"); d < 0 {
		return usagef("--shutdown-grace must be >= 0, got %s", d)
	}
	if b := c.Int64("max-body"); b <= 0 {
		return usagef("--max-body must be > 0, got %d", b)
	}
	sp, err := samplingParams(c)
	if err != nil {
		return err
	}
	o, err := engineOptions(c)
	if err != nil {
		return err
	}
	o.MaxSeqs = parallel

	e, err := engine.Load(o)
	if err != nil {
		return err
	}
	defer e.Close()
	srv, err := server.New(e, server.Options{
		ModelPath: o.ModelPath, Parallel: parallel, MaxQueue: c.Int("max-queue"), PrefillChunk: c.Int("prefill-chunk"),
		MaxTokens: c.Int("max-tokens"), Timeout: c.Duration("timeout"), MaxBodyBytes: c.Int64("max-body"),
		Sampling: sp, RandomSeed: c.Int64("seed") == -1,
	})
	if err != nil {
		return fmt.Errorf("starting the scheduler: %w", err)
	}
	defer srv.Close()

	addr := net.JoinHostPort(c.String("host"), strconv.Itoa(c.Int("port")))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", addr, err)
	}
	hs := &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(slog.Default().Handler(), slog.LevelWarn),
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()

	kv := kvcache.Bytes(e.Model.Config().Layers, e.Ctx, e.Model.Config().KVDim(), e.KVType) * int64(parallel)
	errw := c.App.ErrWriter
	fmt.Fprintf(errw, "gpurun: serving %s as %q on %s: %d slots of %d tokens (KV cache %s)\n",
		o.ModelPath, srv.ModelID(), e.Backend.Name(), parallel, e.Ctx, kvcache.HumanBytes(kv))
	fmt.Fprintf(errw, "listening on http://%s\n", ln.Addr())

	select {
	case err := <-errc:
		return fmt.Errorf("serving HTTP: %w", err)
	case <-ctx.Done():
	}
	stop() // a second signal kills the process
	grace := c.Duration("shutdown-grace")
	fmt.Fprintf(errw, "gpurun: shutting down: no new requests; requests in flight get up to %s to finish\n", grace)
	srv.Drain()
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		if !errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("shutting down: %w", err)
		}
		fmt.Fprintf(errw, "gpurun: shutdown grace of %s is over: ending the requests still running\n", grace)
		srv.Close()
		hs.Close()
	}
	fmt.Fprintln(errw, "gpurun: stopped")
	return nil
}
