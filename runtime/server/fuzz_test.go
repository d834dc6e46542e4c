package server

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"gpurun/runtime/fixtures"
)

// FuzzRequest: whatever a client posts to the completion endpoints, the
// server answers 200 with a completion or a 4xx/5xx with an OpenAI error
// object, and never panics (stories260K, a real scheduler, 2 slots of 64
// positions).
func FuzzRequest(f *testing.F) {
	for _, s := range []string{
		`{"prompt": "Once upon a time", "max_tokens": 4}`,
		`{"prompt": [1, 2, 3], "max_tokens": 3, "temperature": 0.8, "top_k": 5, "top_p": 0.9, "min_p": 0.05, "seed": 7}`,
		`{"prompt": "x", "stop": ["a", "b"], "repeat_penalty": 1.1, "stream": true, "stream_options": {"include_usage": true}}`,
		`{"prompt": "x", "max_tokens": 1000000, "ignore_eos": true}`,
		`{"messages": [{"role": "user", "content": "hi"}], "max_completion_tokens": 2}`,
		`{"prompt": "x", "n": 1, "best_of": 1, "frequency_penalty": 0, "response_format": {"type": "text"}}`,
	} {
		f.Add(0, s)
		f.Add(1, s)
	}
	e := loadEngine(f, fixtures.Path(f, storiesRel), 2, 64)
	s, err := New(e, Options{ModelPath: fixtures.Path(f, storiesRel), MaxBodyBytes: 4096, MaxTokens: 16})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Close() })
	h := s.Handler()
	paths := []string{"/v1/completions", "/v1/chat/completions"}
	f.Fuzz(func(t *testing.T, path int, body string) {
		p := paths[uint(path)%uint(len(paths))]
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, p, strings.NewReader(body)))
		switch {
		case rec.Code == http.StatusOK:
		case rec.Code >= 400 && rec.Code < 600:
			var eb errorBody
			if err := json.Unmarshal(rec.Body.Bytes(), &eb); err != nil || eb.Error.Message == "" {
				t.Fatalf("%s %q: status %d without an error object: %s", p, body, rec.Code, rec.Body)
			}
			if rec.Code >= 500 && rec.Code != http.StatusServiceUnavailable {
				t.Fatalf("%s %q: status %d: %s", p, body, rec.Code, rec.Body)
			}
		default:
			t.Fatalf("%s %q: status %d", p, body, rec.Code)
		}
	})
}
