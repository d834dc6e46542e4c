package server

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"gpurun/runtime/engine"
	"gpurun/runtime/fixtures"
	"gpurun/runtime/sampler"
	"gpurun/tokenizer/chat"
)

const storiesRel = "stories260K/stories260K.gguf"

func loadEngine(t testing.TB, path string, seqs, ctx int) *engine.Engine {
	t.Helper()
	e, err := engine.Load(engine.Options{ModelPath: path, Device: "cpu", Threads: 2, MaxSeqs: seqs, Ctx: ctx})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// startServer serves e through a real scheduler on an httptest server.
func startServer(t testing.TB, e *engine.Engine, o Options) (*Server, *httptest.Server) {
	t.Helper()
	if o.ModelPath == "" {
		o.ModelPath = fixtures.Path(t, storiesRel)
	}
	s, err := New(e, o)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(func() { hs.Close(); s.Close() })
	return s, hs
}

// fakeGen is a Generator driven by a function.
type fakeGen func(ctx context.Context, r engine.Request, emit func(string) error) (engine.Result, error)

func (f fakeGen) Generate(ctx context.Context, r engine.Request, emit func(string) error) (engine.Result, error) {
	return f(ctx, r, emit)
}

func startFake(t *testing.T, e *engine.Engine, gen Generator, o Options) (*Server, *httptest.Server) {
	t.Helper()
	o.ModelPath = fixtures.Path(t, storiesRel)
	s := newServer(e, gen, o, newMetrics())
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(hs.Close)
	return s, hs
}

func post(t *testing.T, url, body string) (int, []byte) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

type errorBody struct {
	Error struct {
		Message string  `json:"message"`
		Type    string  `json:"type"`
		Param   *string `json:"param"`
		Code    *string `json:"code"`
	} `json:"error"`
}

// TestBadRequests: malformed or unsupported requests get the right status
// and an OpenAI error object naming the parameter.
func TestBadRequests(t *testing.T) {
	e := loadEngine(t, fixtures.Path(t, storiesRel), 2, 64)
	_, hs := startServer(t, e, Options{MaxBodyBytes: 4096})
	long := strings.Repeat("Once upon a time there was a dog. ", 20)
	tests := []struct {
		name, path, body string
		status           int
		param, code      string
	}{
		{"malformed JSON", "/v1/completions", `{"prompt": "x",`, 400, "", ""},
		{"not an object", "/v1/completions", `[1, 2]`, 400, "", ""},
		{"trailing data", "/v1/completions", `{"prompt": "x"} {}`, 400, "", ""},
		{"empty body", "/v1/completions", ``, 400, "", ""},
		{"wrong type", "/v1/completions", `{"prompt": "x", "temperature": "hot"}`, 400, "temperature", ""},
		{"wrong stop type", "/v1/completions", `{"prompt": "x", "stop": 3}`, 400, "", ""},
		{"body too large", "/v1/completions", `{"prompt": "` + strings.Repeat("a", 5000) + `"}`, 413, "", "request_too_large"},
		{"unknown model", "/v1/completions", `{"model": "gpt-4", "prompt": "x"}`, 404, "model", "model_not_found"},
		{"no prompt", "/v1/completions", `{"max_tokens": 3}`, 400, "prompt", ""},
		{"two prompts", "/v1/completions", `{"prompt": ["a", "b"]}`, 400, "prompt", ""},
		{"token id out of range", "/v1/completions", `{"prompt": [1, 99999]}`, 400, "prompt", ""},
		{"prompt longer than the context", "/v1/completions", `{"prompt": "` + long + `"}`, 400, "prompt", "context_length_exceeded"},
		{"negative temperature", "/v1/completions", `{"prompt": "x", "temperature": -1}`, 400, "temperature", ""},
		{"top_p 0", "/v1/completions", `{"prompt": "x", "top_p": 0}`, 400, "top_p", ""},
		{"negative top_k", "/v1/completions", `{"prompt": "x", "top_k": -1}`, 400, "top_k", ""},
		{"min_p 1", "/v1/completions", `{"prompt": "x", "min_p": 1}`, 400, "min_p", ""},
		{"max_tokens 0", "/v1/completions", `{"prompt": "x", "max_tokens": 0}`, 400, "max_tokens", ""},
		{"seed -5", "/v1/completions", `{"prompt": "x", "seed": -5}`, 400, "seed", ""},
		{"n 2", "/v1/completions", `{"prompt": "x", "n": 2}`, 400, "n", ""},
		{"logprobs", "/v1/completions", `{"prompt": "x", "logprobs": 5}`, 400, "logprobs", ""},
		{"echo", "/v1/completions", `{"prompt": "x", "echo": true}`, 400, "echo", ""},
		{"presence penalty", "/v1/completions", `{"prompt": "x", "presence_penalty": 0.5}`, 400, "presence_penalty", ""},
		{"too many stops", "/v1/completions", `{"prompt": "x", "stop": [` + strings.Repeat(`"a",`, 16) + `"a"]}`, 400, "stop", ""},
		{"chat without messages", "/v1/chat/completions", `{"model": "stories260K.gguf"}`, 400, "messages", ""},
		{"chat, empty messages", "/v1/chat/completions", `{"messages": []}`, 400, "messages", ""},
		{"chat, model without template", "/v1/chat/completions", `{"messages": [{"role": "user", "content": "hi"}]}`, 400, "messages", ""},
		{"chat, tools", "/v1/chat/completions", `{"messages": [{"role": "user", "content": "hi"}], "tools": [{"type": "function"}]}`, 400, "tools", ""},
		{"chat, image part", "/v1/chat/completions", `{"messages": [{"role": "user", "content": [{"type": "image_url"}]}]}`, 400, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body := post(t, hs.URL+tc.path, tc.body)
			if status != tc.status {
				t.Fatalf("status %d, want %d; body %s", status, tc.status, body)
			}
			var eb errorBody
			if err := json.Unmarshal(body, &eb); err != nil || eb.Error.Message == "" || eb.Error.Type == "" {
				t.Fatalf("not an OpenAI error object: %s", body)
			}
			if tc.param != "" && (eb.Error.Param == nil || *eb.Error.Param != tc.param) {
				t.Errorf("param %v, want %q (%s)", eb.Error.Param, tc.param, body)
			}
			if tc.code != "" && (eb.Error.Code == nil || *eb.Error.Code != tc.code) {
				t.Errorf("code %v, want %q (%s)", eb.Error.Code, tc.code, body)
			}
		})
	}

	methods := []struct{ method, path string }{{"PUT", "/v1/completions"}, {"GET", "/v1/chat/completions"}, {"POST", "/v1/models"}}
	for _, m := range methods {
		req, _ := http.NewRequest(m.method, hs.URL+m.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("%s %s: status %d, want 405", m.method, m.path, resp.StatusCode)
		}
	}
	if resp, err := http.Get(hs.URL + "/v2/nothing"); err != nil || resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /v2/nothing: %v %v, want 404", resp.StatusCode, err)
	}
}

// completion is what a client sees of one answer, streamed or not.
type completion struct {
	text, finish string
	usage        *usage
	chunks       int
}

func complete(t *testing.T, url string, body map[string]any) completion {
	t.Helper()
	b, _ := json.Marshal(body)
	status, out := post(t, url, string(b))
	if status != http.StatusOK {
		t.Fatalf("status %d: %s", status, out)
	}
	var r struct {
		Object  string `json:"object"`
		Choices []struct {
			Text    string `json:"text"`
			Message struct {
				Role, Content string
			} `json:"message"`
			FinishReason string `json:"finish_reason"`
		} `json:"choices"`
		Usage *usage `json:"usage"`
	}
	if err := json.Unmarshal(out, &r); err != nil || len(r.Choices) != 1 || r.Usage == nil {
		t.Fatalf("bad response %s (%v)", out, err)
	}
	c := r.Choices[0]
	if strings.Contains(url, "chat") {
		if r.Object != "chat.completion" || c.Message.Role != "assistant" {
			t.Errorf("chat response: object %q, role %q", r.Object, c.Message.Role)
		}
		return completion{text: c.Message.Content, finish: c.FinishReason, usage: r.Usage}
	}
	if r.Object != "text_completion" {
		t.Errorf("object %q", r.Object)
	}
	return completion{text: c.Text, finish: c.FinishReason, usage: r.Usage}
}

// streamEvents posts body with stream set and returns the data payloads,
// checking that the stream ends with [DONE].
func streamEvents(t *testing.T, url string, body map[string]any) []string {
	t.Helper()
	body["stream"] = true
	b, _ := json.Marshal(body)
	resp, err := http.Post(url, "application/json", strings.NewReader(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		out, _ := io.ReadAll(resp.Body)
		t.Fatalf("status %d, content type %q: %s", resp.StatusCode, resp.Header.Get("Content-Type"), out)
	}
	var events []string
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			continue
		}
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok {
			t.Fatalf("not an SSE data line: %q", line)
		}
		events = append(events, data)
	}
	if len(events) == 0 || events[len(events)-1] != "[DONE]" {
		t.Fatalf("stream does not end with [DONE]: %q", events)
	}
	return events[:len(events)-1]
}

func stream(t *testing.T, url string, body map[string]any) completion {
	t.Helper()
	body["stream_options"] = map[string]any{"include_usage": true}
	var c completion
	for _, ev := range streamEvents(t, url, body) {
		var ch struct {
			Object  string `json:"object"`
			Choices []struct {
				Text  string `json:"text"`
				Delta struct {
					Role    string  `json:"role"`
					Content *string `json:"content"`
				} `json:"delta"`
				FinishReason *string `json:"finish_reason"`
			} `json:"choices"`
			Usage *usage         `json:"usage"`
			Error map[string]any `json:"error"`
		}
		if err := json.Unmarshal([]byte(ev), &ch); err != nil {
			t.Fatalf("chunk %q: %v", ev, err)
		}
		if ch.Error != nil {
			t.Fatalf("error event: %s", ev)
		}
		if ch.Usage != nil {
			c.usage = ch.Usage
			continue
		}
		if c.finish != "" {
			t.Fatalf("chunk after the finish reason: %s", ev)
		}
		if want := (map[bool]string{true: "chat.completion.chunk", false: "text_completion"})[strings.Contains(url, "chat")]; ch.Object != want {
			t.Errorf("chunk object %q, want %q", ch.Object, want)
		}
		for _, choice := range ch.Choices {
			c.chunks++
			c.text += choice.Text
			if choice.Delta.Content != nil {
				c.text += *choice.Delta.Content
			}
			if choice.FinishReason != nil {
				c.finish = *choice.FinishReason
			}
		}
	}
	if c.usage == nil {
		t.Fatal("no usage chunk with include_usage")
	}
	return c
}

func sessionReference(t *testing.T, e *engine.Engine, tokens []int32, n int, sp sampler.Params, stop []string) engine.Result {
	t.Helper()
	sess, err := e.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	res, err := sess.Generate(context.Background(), engine.Request{Tokens: tokens, MaxTokens: n, Sampling: sp, Stop: stop}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func checkAnswer(t *testing.T, name string, got completion, want engine.Result) {
	t.Helper()
	wantFinish := finishReason(want.StopReason)
	switch {
	case got.text != want.Text:
		t.Errorf("%s: text %q\nwant %q (Session.Generate)", name, got.text, want.Text)
	case got.finish != wantFinish:
		t.Errorf("%s: finish_reason %q, want %q", name, got.finish, wantFinish)
	case got.usage.PromptTokens != want.PromptTokens || got.usage.CompletionTokens != len(want.Tokens) ||
		got.usage.TotalTokens != want.PromptTokens+len(want.Tokens):
		t.Errorf("%s: usage %+v, want %d prompt + %d completion tokens", name, *got.usage, want.PromptTokens, len(want.Tokens))
	}
}

// TestCompletionsMatchGenerate: streamed and whole answers, alone and
// concurrent, equal Session.Generate's for the same seed and parameters;
// max_tokens is capped by the server's limit.
func TestCompletionsMatchGenerate(t *testing.T) {
	e := loadEngine(t, fixtures.Path(t, storiesRel), 4, 256)
	_, hs := startServer(t, e, Options{Parallel: 4, MaxTokens: 48, Sampling: sampler.Defaults()})
	url := hs.URL + "/v1/completions"
	type tc struct {
		name      string
		body      map[string]any
		sp        sampler.Params
		n         int
		stop      []string
		prompt    string
		tokenized []int32
	}
	d := sampler.Defaults()
	seeded := func(seed uint64) sampler.Params { p := d; p.Seed = seed; return p }
	cases := []tc{
		{name: "greedy", prompt: "Once upon a time", n: 40, sp: sampler.Params{TopP: 1},
			body: map[string]any{"prompt": "Once upon a time", "max_tokens": 40, "temperature": 0, "top_p": 1, "top_k": 0, "min_p": 0}},
		{name: "seeded, server defaults", prompt: "Once upon a time", n: 40, sp: seeded(42),
			body: map[string]any{"prompt": "Once upon a time", "max_tokens": 40, "seed": 42, "model": "stories260K.gguf"}},
		{name: "all sampling fields", prompt: "The dog", n: 30, sp: sampler.Params{Temperature: 1.1, TopK: 20, TopP: 0.9, MinP: 0.02, RepeatPenalty: 1.2, RepeatLastN: d.RepeatLastN, Seed: 5},
			body: map[string]any{"prompt": []string{"The dog"}, "max_tokens": 30, "temperature": 1.1, "top_k": 20, "top_p": 0.9, "min_p": 0.02, "repeat_penalty": 1.2, "seed": 5, "model": "stories260K"}},
		{name: "stop string", prompt: "Once upon a time", n: 40, sp: sampler.Params{TopP: 1}, stop: []string{"Tim"},
			body: map[string]any{"prompt": "Once upon a time", "max_tokens": 40, "temperature": 0, "top_p": 1, "stop": "Tim"}},
		{name: "max_tokens capped", prompt: "Lily", n: 48, sp: seeded(9),
			body: map[string]any{"prompt": "Lily", "max_tokens": 5000, "seed": 9}},
		{name: "token ids", tokenized: []int32{1, 403, 407}, n: 20, sp: seeded(3),
			body: map[string]any{"prompt": []int{1, 403, 407}, "max_tokens": 20, "seed": 3}},
	}
	want := make([]engine.Result, len(cases))
	for i, c := range cases {
		toks := c.tokenized
		if toks == nil {
			toks = e.PromptTokens(c.prompt, true)
		}
		want[i] = sessionReference(t, e, toks, c.n, c.sp, c.stop)
	}
	clone := func(m map[string]any) map[string]any {
		out := map[string]any{}
		for k, v := range m {
			out[k] = v
		}
		return out
	}
	for i, c := range cases {
		checkAnswer(t, c.name+" (whole)", complete(t, url, clone(c.body)), want[i])
		checkAnswer(t, c.name+" (streamed)", stream(t, url, clone(c.body)), want[i])
	}
	// All at once, streamed and whole: batched in the scheduler, same answers.
	var wg sync.WaitGroup
	for i, c := range cases {
		wg.Go(func() { checkAnswer(t, c.name+" (concurrent, whole)", complete(t, url, clone(c.body)), want[i]) })
		wg.Go(func() { checkAnswer(t, c.name+" (concurrent, streamed)", stream(t, url, clone(c.body)), want[i]) })
	}
	wg.Wait()
}

// TestChatMatchesGenerate: chat completions render the messages with the
// model's template and answer as Session.Generate does (SmolLM2, ChatML).
func TestChatMatchesGenerate(t *testing.T) {
	if testing.Short() {
		t.Skip("loads the 135M model")
	}
	root, err := fixtures.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(root, "models", "SmolLM2-135M-Instruct.Q4_1.gguf")
	if _, err := os.Stat(path); err != nil {
		fixtures.Missing(t, path+" (run make model)")
	}
	e := loadEngine(t, path, 2, 512)
	_, hs := startServer(t, e, Options{ModelPath: path, Parallel: 2, Sampling: sampler.Defaults()})
	msgs := []chat.Message{{Role: "system", Content: "You answer briefly."}, {Role: "user", Content: "What is the capital of France?"}}
	toks, err := e.ChatTokens(msgs, true)
	if err != nil {
		t.Fatal(err)
	}
	sp := sampler.Defaults()
	sp.Seed = 7
	want := sessionReference(t, e, toks, 24, sp, nil)
	body := func() map[string]any {
		return map[string]any{"model": "SmolLM2-135M-Instruct.Q4_1.gguf", "max_tokens": 24, "seed": 7, "messages": []map[string]any{
			{"role": "system", "content": "You answer briefly."},
			{"role": "user", "content": []map[string]string{{"type": "text", "text": "What is the capital "}, {"type": "text", "text": "of France?"}}},
		}}
	}
	url := hs.URL + "/v1/chat/completions"
	var wg sync.WaitGroup
	wg.Go(func() { checkAnswer(t, "chat (whole)", complete(t, url, body()), want) })
	wg.Go(func() { checkAnswer(t, "chat (streamed)", stream(t, url, body()), want) })
	wg.Wait()
}

// TestDisconnectCancels: a streaming client that goes away cancels its
// generation at once.
func TestDisconnectCancels(t *testing.T) {
	e := loadEngine(t, fixtures.Path(t, storiesRel), 1, 64)
	cancelled := make(chan error, 1)
	gen := fakeGen(func(ctx context.Context, r engine.Request, emit func(string) error) (engine.Result, error) {
		res := engine.Result{PromptTokens: len(r.Tokens)}
		for {
			if err := emit("tok "); err != nil {
				cancelled <- err
				return res, err
			}
			res.Tokens = append(res.Tokens, 1)
			select {
			case <-ctx.Done():
				cancelled <- ctx.Err()
				return res, ctx.Err()
			case <-time.After(5 * time.Millisecond):
			}
		}
	})
	s, hs := startFake(t, e, gen, Options{})
	resp, err := http.Post(hs.URL+"/v1/completions", "application/json", strings.NewReader(`{"prompt": "x", "stream": true}`))
	if err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "data: ") {
		t.Fatalf("first line %q, %v", line, err)
	}
	resp.Body.Close() // the client goes away
	select {
	case <-cancelled:
	case <-time.After(5 * time.Second):
		t.Fatal("the generation went on after the client disconnected")
	}
	waitMetric(t, s, `gpurun_generations_total{outcome="cancelled"} 1`)
}

func waitMetric(t *testing.T, s *Server, line string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		if strings.Contains(rec.Body.String(), line) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("metrics lack %q:\n%s", line, rec.Body.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestGenerationErrors: a timeout, a full queue and shutdown reach the
// client as OpenAI errors, before the stream starts as an HTTP status,
// after it as an error event.
func TestGenerationErrors(t *testing.T) {
	e := loadEngine(t, fixtures.Path(t, storiesRel), 1, 64)
	block := fakeGen(func(ctx context.Context, r engine.Request, emit func(string) error) (engine.Result, error) {
		if emit != nil {
			if err := emit("partial"); err != nil {
				return engine.Result{}, err
			}
		}
		<-ctx.Done()
		return engine.Result{StopReason: engine.StopCancelled}, ctx.Err()
	})
	fail := func(err error) Generator {
		return fakeGen(func(context.Context, engine.Request, func(string) error) (engine.Result, error) {
			return engine.Result{}, err
		})
	}
	tests := []struct {
		name   string
		gen    Generator
		status int
		code   string
	}{
		{"timeout", block, http.StatusGatewayTimeout, "timeout"},
		{"queue full", fail(engine.ErrQueueFull), http.StatusServiceUnavailable, "server_busy"},
		{"shut down", fail(engine.ErrClosed), http.StatusServiceUnavailable, "shutting_down"},
		{"engine failure", fail(fmt.Errorf("forward pass: %w", io.ErrUnexpectedEOF)), http.StatusInternalServerError, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, hs := startFake(t, e, tc.gen, Options{Timeout: 50 * time.Millisecond})
			status, body := post(t, hs.URL+"/v1/completions", `{"prompt": "x"}`)
			var eb errorBody
			if status != tc.status || json.Unmarshal(body, &eb) != nil || (tc.code != "" && (eb.Error.Code == nil || *eb.Error.Code != tc.code)) {
				t.Errorf("whole: status %d, body %s; want %d, code %q", status, body, tc.status, tc.code)
			}
			b, _ := json.Marshal(map[string]any{"prompt": "x", "stream": true})
			resp, err := http.Post(hs.URL+"/v1/completions", "application/json", strings.NewReader(string(b)))
			if err != nil {
				t.Fatal(err)
			}
			out, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if tc.name == "timeout" { // the stream had started: an error event, then [DONE]
				if resp.StatusCode != 200 || !strings.Contains(string(out), `"code":"timeout"`) || !strings.HasSuffix(string(out), "data: [DONE]\n\n") {
					t.Errorf("streamed: status %d, body %s", resp.StatusCode, out)
				}
			} else if resp.StatusCode != tc.status {
				t.Errorf("streamed: status %d, want %d (%s)", resp.StatusCode, tc.status, out)
			}
		})
	}
}

// TestEndpoints: models, health (also while draining) and metrics.
func TestEndpoints(t *testing.T) {
	e := loadEngine(t, fixtures.Path(t, storiesRel), 2, 128)
	s, hs := startServer(t, e, Options{Parallel: 2})
	complete(t, hs.URL+"/v1/completions", map[string]any{"prompt": "Once", "max_tokens": 4})

	get := func(path string) (int, string) {
		resp, err := http.Get(hs.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	tests := []struct {
		path   string
		status int
		want   []string
	}{
		{"/v1/models", 200, []string{`"object":"list"`, `"id":"stories260K.gguf"`, `"owned_by":"gpurun"`}},
		{"/v1/models/stories260K.gguf", 200, []string{`"id":"stories260K.gguf"`}},
		{"/v1/models/other.gguf", 404, []string{`"model_not_found"`}},
		{"/health", 200, []string{`"status":"ok"`, `"slots":2`}},
		{"/metrics", 200, []string{
			`gpurun_http_requests_total{code="200",endpoint="completions"} 1`,
			`gpurun_prompt_tokens_total 2`, `gpurun_completion_tokens_total 4`,
			`gpurun_time_to_first_token_seconds_count 1`, `gpurun_time_per_output_token_seconds_count 3`,
			`gpurun_queue_depth 0`, `gpurun_active_sequences 0`, `gpurun_sequence_slots 2`,
			`gpurun_generations_total{outcome="length"} 1`, `go_goroutines`,
		}},
	}
	for _, tc := range tests {
		status, body := get(tc.path)
		if status != tc.status {
			t.Errorf("GET %s: status %d, want %d: %s", tc.path, status, tc.status, body)
		}
		for _, w := range tc.want {
			if !strings.Contains(body, w) {
				t.Errorf("GET %s lacks %s:\n%s", tc.path, w, body)
			}
		}
	}

	s.Drain()
	if status, body := get("/health"); status != http.StatusServiceUnavailable || !strings.Contains(body, "shutting down") {
		t.Errorf("health while draining: %d %s", status, body)
	}
	if status, body := post(t, hs.URL+"/v1/completions", `{"prompt": "x"}`); status != http.StatusServiceUnavailable {
		t.Errorf("completion while draining: %d %s", status, body)
	}
}
