// Package server is gpurun's HTTP API: OpenAI-compatible text and chat
// completions (streamed as Server-Sent Events or whole), the model list, a
// health check and Prometheus metrics. Generations run on an
// engine.Scheduler, which batches the decode steps of all active requests
// into one forward pass.
package server

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"gpurun/runtime/engine"
	"gpurun/runtime/sampler"
	"gpurun/tokenizer/chat"
)

// Options configure a Server. Zero values take the defaults below.
type Options struct {
	// ModelPath names the model: its base name (and general.name) are the
	// model ids requests may give.
	ModelPath string
	// Parallel is the most sequences generated at once (default: the
	// engine's MaxSeqs); the engine must be loaded with MaxSeqs >= Parallel.
	Parallel int
	// MaxQueue is the most requests waiting for a slot; more get 503 (0: no limit).
	MaxQueue int
	// PrefillChunk: see engine.SchedulerOptions.
	PrefillChunk int
	// MaxTokens caps max_tokens and is its default (default 1024).
	MaxTokens int
	// Timeout bounds each request, queue wait included (default 10 minutes).
	Timeout time.Duration
	// MaxBodyBytes limits request bodies; larger ones get 413 (default 1 MiB).
	MaxBodyBytes int64
	// Sampling holds the defaults of the sampling fields a request leaves
	// out (zero: sampler.Defaults(), llama.cpp's).
	Sampling sampler.Params
	// RandomSeed: requests without a seed get a random one; otherwise they
	// use Sampling.Seed.
	RandomSeed bool
	// Logger receives one line per request (default slog.Default()).
	Logger *slog.Logger
}

// Defaults for Options.
const (
	DefaultMaxTokens    = 1024
	DefaultTimeout      = 10 * time.Minute
	DefaultMaxBodyBytes = 1 << 20
	maxStops            = 16
	// bodyReadTimeout bounds reading a request body; chunkWriteTimeout
	// bounds writing one stream chunk (a client that takes nothing for that
	// long is gone).
	bodyReadTimeout   = 30 * time.Second
	chunkWriteTimeout = 30 * time.Second
)

// Generator runs one generation; *engine.Scheduler is the real one.
type Generator interface {
	Generate(ctx context.Context, r engine.Request, emit func(text string) error) (engine.Result, error)
}

// Server serves one loaded model.
type Server struct {
	e        *engine.Engine
	gen      Generator
	stats    func() engine.SchedulerStats // nil: not known
	close    func() error
	o        Options
	m        *metrics
	log      *slog.Logger
	modelID  string
	names    map[string]bool
	created  int64
	draining atomic.Bool
	handler  http.Handler
}

// New starts a scheduler on e (which nothing else may use until Close) and
// builds the server around it.
func New(e *engine.Engine, o Options) (*Server, error) {
	m := newMetrics()
	sched, err := engine.NewScheduler(e, engine.SchedulerOptions{
		Slots: o.Parallel, MaxQueue: o.MaxQueue, PrefillChunk: o.PrefillChunk, Hooks: m.hooks(),
	})
	if err != nil {
		return nil, err
	}
	s := newServer(e, sched, o, m)
	s.stats, s.close = sched.Stats, sched.Close
	m.watch(sched.Stats)
	return s, nil
}

// newServer builds a server on any generator (tests use fakes).
func newServer(e *engine.Engine, gen Generator, o Options, m *metrics) *Server {
	if o.MaxTokens <= 0 {
		o.MaxTokens = DefaultMaxTokens
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if o.Sampling == (sampler.Params{}) {
		o.Sampling = sampler.Defaults()
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	base := filepath.Base(o.ModelPath)
	s := &Server{
		e: e, gen: gen, close: func() error { return nil }, o: o, m: m, log: o.Logger,
		modelID: base,
		names:   map[string]bool{base: true, strings.TrimSuffix(base, filepath.Ext(base)): true},
		created: time.Now().Unix(),
	}
	if e.Info.Name != "" {
		s.names[e.Info.Name] = true
	}
	if st, err := os.Stat(o.ModelPath); err == nil {
		s.created = st.ModTime().Unix()
	}
	s.handler = s.routes()
	return s
}

// Handler is the server's HTTP handler.
func (s *Server) Handler() http.Handler { return s.handler }

// ModelID is the id the server lists its model under.
func (s *Server) ModelID() string { return s.modelID }

// Drain makes the server refuse new generations (503) and report itself
// unhealthy, while those in flight go on.
func (s *Server) Drain() { s.draining.Store(true) }

// Close stops the scheduler: generations still running end at once.
func (s *Server) Close() error { return s.close() }

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	handle := func(pattern, endpoint string, h http.HandlerFunc) {
		mux.Handle(pattern, s.instrument(endpoint, h))
	}
	handle("POST /v1/completions", "completions", s.generateHandler(false))
	handle("POST /v1/chat/completions", "chat_completions", s.generateHandler(true))
	handle("GET /v1/models", "models", s.handleModels)
	handle("GET /v1/models/{id}", "models", s.handleModel)
	handle("GET /health", "health", s.handleHealth)
	mux.Handle("GET /metrics", s.instrument("metrics", s.m.handler()))
	for _, p := range []string{"/v1/completions", "/v1/chat/completions", "/v1/models", "/health", "/metrics"} {
		handle(p, "other", func(w http.ResponseWriter, r *http.Request) {
			writeError(w, &apiError{Status: http.StatusMethodNotAllowed, Type: "invalid_request_error",
				Message: fmt.Sprintf("method %s is not allowed on %s", r.Method, r.URL.Path)})
		})
	}
	handle("/", "other", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, &apiError{Status: http.StatusNotFound, Type: "invalid_request_error", Code: ptr("not_found"),
			Message: fmt.Sprintf("no such endpoint: %s %s (see /v1/completions, /v1/chat/completions, /v1/models, /health, /metrics)", r.Method, r.URL.Path)})
	})
	return mux
}

// statusWriter remembers the status code for the request counter.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the Flusher underneath.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (s *Server) instrument(endpoint string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		h.ServeHTTP(sw, r)
		if sw.code == 0 {
			sw.code = http.StatusOK
		}
		s.m.requests.WithLabelValues(endpoint, strconv.Itoa(sw.code)).Inc()
		s.m.duration.WithLabelValues(endpoint).Observe(time.Since(start).Seconds())
	})
}

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	body := map[string]any{"status": "ok", "model": s.modelID}
	if s.stats != nil {
		st := s.stats()
		body["slots"], body["active"], body["queued"] = st.Slots, st.Active, st.Queued
	}
	code := http.StatusOK
	if s.draining.Load() {
		body["status"], code = "shutting down", http.StatusServiceUnavailable
	}
	writeJSON(w, code, body)
}

func (s *Server) modelCard() modelCard {
	return modelCard{ID: s.modelID, Object: "model", Created: s.created, OwnedBy: "gpurun", Meta: map[string]any{
		"name": s.e.Info.Name, "architecture": s.e.Info.Architecture, "parameters": s.e.Info.Parameters,
		"context_length": s.e.Ctx, "vocab_size": s.e.Model.Config().Vocab, "chat_template": s.e.Tok.ChatTemplate() != "",
	}}
}

func (s *Server) handleModels(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, modelList{Object: "list", Data: []modelCard{s.modelCard()}})
}

func (s *Server) handleModel(w http.ResponseWriter, r *http.Request) {
	if e := s.checkModel(r.PathValue("id")); e != nil {
		writeError(w, e)
		return
	}
	writeJSON(w, http.StatusOK, s.modelCard())
}

// checkModel accepts no name (the one model), or one of the model's names.
func (s *Server) checkModel(name string) *apiError {
	if name == "" || s.names[name] {
		return nil
	}
	return &apiError{Status: http.StatusNotFound, Type: "invalid_request_error", Param: ptr("model"), Code: ptr("model_not_found"),
		Message: fmt.Sprintf("the model %q does not exist; this server serves %q", name, s.modelID)}
}

// job is a validated generation request.
type job struct {
	chat         bool
	req          engine.Request
	id           string
	created      int64
	stream       bool
	includeUsage bool
}

func (s *Server) generateHandler(isChat bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.draining.Load() {
			writeError(w, &apiError{Status: http.StatusServiceUnavailable, Type: "server_error", Code: ptr("shutting_down"),
				Message: "the server is shutting down"})
			return
		}
		var req apiRequest
		rc := http.NewResponseController(w)
		rc.SetReadDeadline(time.Now().Add(bodyReadTimeout)) // errors: not supported (tests' recorders)
		e := decodeBody(w, r, s.o.MaxBodyBytes, &req)
		rc.SetReadDeadline(time.Time{})
		if e != nil {
			writeError(w, e)
			return
		}
		j, e := s.prepare(&req, isChat)
		if e != nil {
			writeError(w, e)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), s.o.Timeout)
		defer cancel()
		start := time.Now()
		var res engine.Result
		var err error
		if j.stream {
			res, err = s.stream(ctx, w, j)
		} else {
			res, err = s.complete(ctx, w, j)
		}
		outcome := s.outcome(res, err)
		s.m.generations.WithLabelValues(outcome).Inc()
		s.m.promptTokens.Add(float64(res.PromptTokens))
		s.m.completionTokens.Add(float64(len(res.Tokens)))
		s.log.Info("request", "endpoint", r.URL.Path, "id", j.id, "stream", j.stream,
			"prompt_tokens", res.PromptTokens, "prompt_run", res.PromptEval, "completion_tokens", len(res.Tokens),
			"outcome", outcome, "duration", time.Since(start).Round(time.Millisecond))
		if outcome == "error" {
			s.log.Error("generation failed", "id", j.id, "err", err)
		}
	}
}

// prepare validates a request and turns it into an engine request.
func (s *Server) prepare(req *apiRequest, isChat bool) (*job, *apiError) {
	if e := s.checkModel(req.Model); e != nil {
		return nil, e
	}
	if e := checkUnsupported(req, isChat); e != nil {
		return nil, e
	}
	sp, e := s.sampling(req)
	if e != nil {
		return nil, e
	}
	maxTokens := s.o.MaxTokens
	mt, mtName := req.MaxTokens, "max_tokens"
	if req.MaxCompletionTokens != nil {
		mt, mtName = req.MaxCompletionTokens, "max_completion_tokens"
	}
	if mt != nil {
		if *mt <= 0 {
			return nil, invalid(mtName, "%s must be > 0, got %d", mtName, *mt)
		}
		maxTokens = min(*mt, s.o.MaxTokens)
	}
	if len(req.Stop) > maxStops {
		return nil, invalid("stop", "at most %d stop strings, got %d", maxStops, len(req.Stop))
	}

	var tokens []int32
	param := "prompt"
	if isChat {
		param = "messages"
		var err *apiError
		if tokens, err = s.chatTokens(req.Messages); err != nil {
			return nil, err
		}
	} else {
		p, err := parsePrompt(req.Prompt)
		if err != nil {
			return nil, err
		}
		if p.tokens != nil {
			vocab := s.e.Model.Config().Vocab
			for _, id := range p.tokens {
				if id < 0 || int(id) >= vocab {
					return nil, invalid("prompt", "token id %d is outside the vocabulary [0, %d)", id, vocab)
				}
			}
			tokens = p.tokens
		} else {
			tokens = s.e.PromptTokens(p.text, true)
		}
	}
	if len(tokens) == 0 {
		return nil, invalid(param, "the prompt is empty and the model adds no BOS token: nothing to continue")
	}
	if len(tokens) >= s.e.Ctx {
		e := invalid(param, "the prompt is %d tokens, which does not fit the context of %d tokens (the server's --ctx)", len(tokens), s.e.Ctx)
		e.Code = ptr("context_length_exceeded")
		return nil, e
	}
	j := &job{
		chat:    isChat,
		req:     engine.Request{Tokens: tokens, MaxTokens: maxTokens, Sampling: sp, Stop: req.Stop, IgnoreEOG: req.IgnoreEOS},
		created: time.Now().Unix(),
		stream:  req.Stream,
	}
	j.includeUsage = req.Stream && req.StreamOptions != nil && req.StreamOptions.IncludeUsage
	if isChat {
		j.id = "chatcmpl-" + rand.Text()
	} else {
		j.id = "cmpl-" + rand.Text()
	}
	return j, nil
}

// checkUnsupported refuses what the request asks for but gpurun cannot do.
func checkUnsupported(req *apiRequest, isChat bool) *apiError {
	switch {
	case req.N != nil && *req.N != 1:
		return invalid("n", "n must be 1 (one choice per request), got %d", *req.N)
	case req.BestOf != nil && *req.BestOf > 1:
		return invalid("best_of", "best_of is not supported")
	case req.Echo:
		return invalid("echo", "echo is not supported")
	case !isNullish(req.Logprobs):
		return invalid("logprobs", "logprobs are not supported")
	case req.PresencePenalty != nil && *req.PresencePenalty != 0:
		return invalid("presence_penalty", "presence_penalty is not supported (use repeat_penalty)")
	case req.FrequencyPenalty != nil && *req.FrequencyPenalty != 0:
		return invalid("frequency_penalty", "frequency_penalty is not supported (use repeat_penalty)")
	case isChat && !isNullish(req.Tools) && string(req.Tools) != "[]":
		return invalid("tools", "tools are not supported")
	case req.ResponseFormat != nil && req.ResponseFormat.Type != "" && req.ResponseFormat.Type != "text":
		return invalid("response_format", "response_format %q is not supported (only text)", req.ResponseFormat.Type)
	case isChat && req.Messages == nil:
		return invalid("messages", "messages is required")
	}
	return nil
}

func isNullish(raw json.RawMessage) bool {
	switch strings.TrimSpace(string(raw)) {
	case "", "null", "false", "0":
		return true
	}
	return false
}

// sampling merges the request's sampling fields into the server's defaults.
func (s *Server) sampling(req *apiRequest) (sampler.Params, *apiError) {
	p := s.o.Sampling
	if v := req.Temperature; v != nil {
		if *v < 0 {
			return p, invalid("temperature", "temperature must be >= 0 (0 is greedy), got %g", *v)
		}
		p.Temperature = float32(*v)
	}
	if v := req.TopP; v != nil {
		if !(*v > 0 && *v <= 1) {
			return p, invalid("top_p", "top_p must be in (0, 1], got %g", *v)
		}
		p.TopP = float32(*v)
	}
	if v := req.TopK; v != nil {
		if *v < 0 {
			return p, invalid("top_k", "top_k must be >= 0 (0 keeps every token), got %d", *v)
		}
		p.TopK = *v
	}
	if v := req.MinP; v != nil {
		if !(*v >= 0 && *v < 1) {
			return p, invalid("min_p", "min_p must be in [0, 1), got %g", *v)
		}
		p.MinP = float32(*v)
	}
	if v := req.RepeatPenalty; v != nil {
		if !(*v > 0) {
			return p, invalid("repeat_penalty", "repeat_penalty must be > 0 (1 is off), got %g", *v)
		}
		p.RepeatPenalty = float32(*v)
	}
	switch v := req.Seed; {
	case v != nil && *v >= 0:
		p.Seed = uint64(*v)
	case v != nil && *v != -1:
		return p, invalid("seed", "seed must be >= 0, or -1 for a random seed; got %d", *v)
	case s.o.RandomSeed:
		p.Seed = uint64(mrand.Int64())
	}
	if err := p.Validate(); err != nil {
		return p, invalid("", "%v", err)
	}
	return p, nil
}

// chatTokens renders the conversation with the model's chat template.
func (s *Server) chatTokens(in []apiMessage) ([]int32, *apiError) {
	if len(in) == 0 {
		return nil, invalid("messages", "messages must not be empty")
	}
	if s.e.Tok.ChatTemplate() == "" {
		return nil, invalid("messages", "the model %s has no chat template; use /v1/completions", s.modelID)
	}
	msgs := make([]chat.Message, len(in))
	for i, m := range in {
		if m.Role == "" {
			return nil, invalid(fmt.Sprintf("messages[%d].role", i), "message %d has no role", i)
		}
		msgs[i] = chat.Message{Role: m.Role, Content: string(m.Content)}
	}
	tokens, err := s.e.ChatTokens(msgs, true)
	if err != nil {
		var te *chat.TemplateError
		if errors.As(err, &te) && te.Stage == "render" {
			return nil, invalid("messages", "%v", err)
		}
		return nil, &apiError{Status: http.StatusInternalServerError, Type: "server_error", Message: err.Error()}
	}
	return tokens, nil
}

// errClientGone marks a failed write to the client.
var errClientGone = errors.New("client connection lost")

// outcome classifies a finished generation for the metrics and the log.
func (s *Server) outcome(res engine.Result, err error) string {
	switch {
	case err == nil:
		return finishReason(res.StopReason)
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, context.Canceled) || errors.Is(err, errClientGone):
		return "cancelled"
	case errors.Is(err, engine.ErrQueueFull):
		return "rejected"
	case errors.Is(err, engine.ErrClosed):
		return "shutdown"
	}
	return "error"
}

// apiErrorFor turns a generation error into the error the client gets.
func (s *Server) apiErrorFor(err error) *apiError {
	var tooLong *engine.PromptTooLongError
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return &apiError{Status: http.StatusGatewayTimeout, Type: "timeout_error", Code: ptr("timeout"),
			Message: fmt.Sprintf("the request did not finish within the server's timeout (%s)", s.o.Timeout)}
	case errors.Is(err, engine.ErrQueueFull):
		return &apiError{Status: http.StatusServiceUnavailable, Type: "server_error", Code: ptr("server_busy"),
			Message: "the server is busy: too many requests are waiting; retry later"}
	case errors.Is(err, engine.ErrClosed):
		return &apiError{Status: http.StatusServiceUnavailable, Type: "server_error", Code: ptr("shutting_down"),
			Message: "the server is shutting down"}
	case errors.As(err, &tooLong):
		return &apiError{Status: http.StatusBadRequest, Type: "invalid_request_error", Code: ptr("context_length_exceeded"), Message: err.Error()}
	}
	return &apiError{Status: http.StatusInternalServerError, Type: "server_error", Message: "generation failed: " + err.Error()}
}

func finishReason(stop string) string {
	switch stop {
	case engine.StopLength, engine.StopContext:
		return "length"
	case engine.StopCancelled:
		return "cancelled"
	}
	return "stop" // end-of-generation token or stop string
}

func (j *job) object() string {
	if j.chat {
		return "chat.completion"
	}
	return "text_completion"
}

func usageOf(res engine.Result) *usage {
	return &usage{PromptTokens: res.PromptTokens, CompletionTokens: len(res.Tokens), TotalTokens: res.PromptTokens + len(res.Tokens)}
}

// complete answers with one JSON response.
func (s *Server) complete(ctx context.Context, w http.ResponseWriter, j *job) (engine.Result, error) {
	res, err := s.gen.Generate(ctx, j.req, nil)
	if err != nil {
		writeError(w, s.apiErrorFor(err))
		return res, err
	}
	fr := finishReason(res.StopReason)
	out := response{ID: j.id, Object: j.object(), Created: j.created, Model: s.modelID, Usage: usageOf(res)}
	if j.chat {
		out.Choices = []chatChoice{{Message: &chatMessageOut{Role: "assistant", Content: res.Text}, FinishReason: &fr}}
	} else {
		out.Choices = []completionChoice{{Text: res.Text, FinishReason: &fr}}
	}
	writeJSON(w, http.StatusOK, out)
	return res, nil
}

// stream answers with Server-Sent Events: one chunk per piece of text, a
// last chunk with the finish reason, the usage chunk if asked for, and
// "data: [DONE]". Headers go out with the first piece of text, so errors
// before it (a full queue) still get their HTTP status.
func (s *Server) stream(ctx context.Context, w http.ResponseWriter, j *job) (engine.Result, error) {
	rc := http.NewResponseController(w)
	started := false
	chunk := response{ID: j.id, Object: j.object() + ".chunk", Created: j.created, Model: s.modelID}
	if !j.chat {
		chunk.Object = "text_completion"
	}
	send := func(v any) error {
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		rc.SetWriteDeadline(time.Now().Add(chunkWriteTimeout))
		if _, err := fmt.Fprintf(w, "data: %s\n\n", b); err != nil {
			return fmt.Errorf("%w: %v", errClientGone, err)
		}
		if err := rc.Flush(); err != nil {
			return fmt.Errorf("%w: %v", errClientGone, err)
		}
		return nil
	}
	piece := func(text string, finish *string) error {
		if j.chat {
			d := &chatDelta{}
			if finish == nil {
				d.Content = &text
			}
			chunk.Choices = []chatChoice{{Delta: d, FinishReason: finish}}
		} else {
			chunk.Choices = []completionChoice{{Text: text, FinishReason: finish}}
		}
		return send(chunk)
	}
	start := func() error {
		if started {
			return nil
		}
		started = true
		h := w.Header()
		h.Set("Content-Type", "text/event-stream")
		h.Set("Cache-Control", "no-cache")
		h.Set("X-Accel-Buffering", "no")
		w.WriteHeader(http.StatusOK)
		if j.chat {
			empty := ""
			chunk.Choices = []chatChoice{{Delta: &chatDelta{Role: "assistant", Content: &empty}}}
			return send(chunk)
		}
		return nil
	}
	res, err := s.gen.Generate(ctx, j.req, func(text string) error {
		if err := start(); err != nil {
			return err
		}
		return piece(text, nil)
	})
	if err != nil {
		if errors.Is(err, errClientGone) || errors.Is(err, context.Canceled) {
			return res, err // nobody is listening
		}
		ae := s.apiErrorFor(err)
		if !started {
			writeError(w, ae)
			return res, err
		}
		send(struct {
			Error *apiError `json:"error"`
		}{ae})
		fmt.Fprint(w, "data: [DONE]\n\n")
		rc.Flush()
		return res, err
	}
	if err := start(); err != nil {
		return res, err
	}
	fr := finishReason(res.StopReason)
	if err := piece("", &fr); err != nil {
		return res, err
	}
	if j.includeUsage {
		chunk.Choices, chunk.Usage = []any{}, usageOf(res)
		if err := send(chunk); err != nil {
			return res, err
		}
	}
	if _, err := fmt.Fprint(w, "data: [DONE]\n\n"); err != nil {
		return res, fmt.Errorf("%w: %v", errClientGone, err)
	}
	if err := rc.Flush(); err != nil {
		return res, fmt.Errorf("%w: %v", errClientGone, err)
	}
	return res, nil
}
