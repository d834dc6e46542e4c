package tokenizer

import (
	"bytes"
	"log/slog"
	"math/rand"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"
)

// withKV returns kvs with key set to val (val nil removes the key).
func withKV(kvs []kv, key string, val any) []kv {
	out := make([]kv, 0, len(kvs)+1)
	found := false
	for _, p := range kvs {
		if p.key == key {
			found = true
			if val == nil {
				continue
			}
			p.val = val
		}
		out = append(out, p)
	}
	if !found && val != nil {
		out = append(out, kv{key, val})
	}
	return out
}

func TestFromGGUFErrorsNameKey(t *testing.T) {
	bpe, spm := synthBPE(), synthSPM()
	tests := []struct {
		name string
		kvs  []kv
		key  string
	}{
		{"no model", withKV(bpe, "tokenizer.ggml.model", nil), "tokenizer.ggml.model"},
		{"unsupported model", withKV(bpe, "tokenizer.ggml.model", "bert"), "tokenizer.ggml.model"},
		{"model not a string", withKV(bpe, "tokenizer.ggml.model", uint32(1)), "tokenizer.ggml.model"},
		{"no tokens", withKV(bpe, "tokenizer.ggml.tokens", nil), "tokenizer.ggml.tokens"},
		{"empty tokens", withKV(bpe, "tokenizer.ggml.tokens", []string{}), "tokenizer.ggml.tokens"},
		{"tokens not strings", withKV(bpe, "tokenizer.ggml.tokens", []int32{1, 2}), "tokenizer.ggml.tokens"},
		{"types too short", withKV(bpe, "tokenizer.ggml.token_type", []int32{1}), "tokenizer.ggml.token_type"},
		{"types not int32", withKV(bpe, "tokenizer.ggml.token_type", []string{"a"}), "tokenizer.ggml.token_type"},
		{"no merges", withKV(bpe, "tokenizer.ggml.merges", nil), "tokenizer.ggml.merges"},
		{"pre not a string", withKV(bpe, "tokenizer.ggml.pre", uint32(3)), "tokenizer.ggml.pre"},
		{"bos not an integer", withKV(bpe, "tokenizer.ggml.bos_token_id", "x"), "tokenizer.ggml.bos_token_id"},
		{"add_bos not a bool", withKV(bpe, "tokenizer.ggml.add_bos_token", uint32(1)), "tokenizer.ggml.add_bos_token"},
		{"no scores", withKV(spm, "tokenizer.ggml.scores", nil), "tokenizer.ggml.scores"},
		{"scores too short", withKV(spm, "tokenizer.ggml.scores", []float32{1}), "tokenizer.ggml.scores"},
		{"template not a string", withKV(spm, "tokenizer.chat_template", true), "tokenizer.chat_template"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := FromGGUF(buildGGUF(t, tc.kvs))
			if err == nil {
				t.Fatal("FromGGUF succeeded")
			}
			if !strings.Contains(err.Error(), tc.key) {
				t.Errorf("error %q does not name %s", err, tc.key)
			}
		})
	}
}

// TestUnknownPreTokenizer: an unknown name warns once and uses the GPT-2
// pattern, as llama.cpp used to.
func TestUnknownPreTokenizer(t *testing.T) {
	var logs bytes.Buffer
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&logs, nil)))
	defer slog.SetDefault(prev)

	tok := mustTokenizer(t, withKV(synthBPE(), "tokenizer.ggml.pre", "no-such-pre"))
	name, family := tok.PreTokenizer()
	if name != "no-such-pre" || family != "gpt2" {
		t.Errorf("PreTokenizer() = %q, %q", name, family)
	}
	if n := strings.Count(logs.String(), "unknown pre-tokenizer"); n != 1 {
		t.Errorf("%d warnings, want 1:\n%s", n, logs.String())
	}
	ref := mustTokenizer(t, synthBPE())
	text := "hello world, it's 2024!"
	if got, want := tok.Encode(text, EncodeOptions{}), ref.Encode(text, EncodeOptions{}); !slices.Equal(got, want) {
		t.Errorf("unknown pre-tokenizer encodes %v, gpt-2 %v", got, want)
	}
}

func TestSpecialTokens(t *testing.T) {
	tok := mustTokenizer(t, synthBPE())
	user, end, at := tok.toID["<|user|>"], tok.toID["<|end|>"], tok.toID["@@"]
	text := "<|user|>hello@@world<|end|>"
	tests := []struct {
		name         string
		opt          EncodeOptions
		wantControl  bool // control tokens recognised
		wantUserDef  bool
		decodeEquals string
	}{
		{"plain", EncodeOptions{}, false, true, text},
		{"parse special", EncodeOptions{ParseSpecial: true}, true, true, "hello@@world"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ids := tok.Encode(text, tc.opt)
			if got := slices.Contains(ids, user) && slices.Contains(ids, end); got != tc.wantControl {
				t.Errorf("control tokens recognised = %v, want %v (%v)", got, tc.wantControl, ids)
			}
			if got := slices.Contains(ids, at); got != tc.wantUserDef {
				t.Errorf("user-defined token recognised = %v, want %v (%v)", got, tc.wantUserDef, ids)
			}
			if got := tok.Decode(ids); got != tc.decodeEquals {
				t.Errorf("Decode = %q, want %q", got, tc.decodeEquals)
			}
		})
	}
}

func TestAddSpecial(t *testing.T) {
	tests := []struct {
		name             string
		kvs              []kv
		wantBOS, wantEOS bool
	}{
		{"spm default", synthSPM(), true, false},
		{"spm add_eos", withKV(synthSPM(), "tokenizer.ggml.add_eos_token", true), true, true},
		{"spm no bos", withKV(synthSPM(), "tokenizer.ggml.add_bos_token", false), false, false},
		{"gpt2 default", synthBPE(), false, false},
		{"gpt2 add_bos", withKV(synthBPE(), "tokenizer.ggml.add_bos_token", true), true, false},
		{"llama-bpe default", withKV(synthBPE(), "tokenizer.ggml.pre", "llama-bpe"), true, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tok := mustTokenizer(t, tc.kvs)
			if tok.AddBOS() != tc.wantBOS || tok.AddEOS() != tc.wantEOS {
				t.Fatalf("AddBOS, AddEOS = %v, %v", tok.AddBOS(), tok.AddEOS())
			}
			plain := tok.Encode("hello world", EncodeOptions{})
			ids := tok.Encode("hello world", EncodeOptions{AddSpecial: true})
			want := slices.Clone(plain)
			if tc.wantBOS {
				want = append([]int32{tok.BOS()}, want...)
			}
			if tc.wantEOS {
				want = append(want, tok.EOS())
			}
			if !slices.Equal(ids, want) {
				t.Errorf("Encode with AddSpecial = %v, want %v", ids, want)
			}
		})
	}
}

func TestStreamDecoder(t *testing.T) {
	tok := mustTokenizer(t, synthSPM())
	b := func(x byte) int32 { return tok.spm.byteTok[x] }
	euro := []int32{b(0xE2), b(0x82), b(0xAC)} // "€"
	tests := []struct {
		name  string
		ids   []int32
		adds  []string // what each Add returns
		flush string
	}{
		{"ascii bytes", []int32{b('h'), b('i')}, []string{"h", "i"}, ""},
		{"three-byte char", euro, []string{"", "", "€"}, ""},
		{"char then ascii", append(slices.Clone(euro), b('!')), []string{"", "", "€", "!"}, ""},
		{"cut short", euro[:2], []string{"", ""}, "\uFFFD\uFFFD"},
		{"invalid lead", []int32{b(0xFF), b('a')}, []string{"\uFFFD", "a"}, ""},
		{"broken sequence", []int32{b(0xE2), b('a')}, []string{"", "\uFFFDa"}, ""},
		{"control renders nothing", []int32{tok.BOS(), b('x'), tok.EOS()}, []string{"", "x", ""}, ""},
		{"id out of range", []int32{-1, 1 << 30}, []string{"", ""}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := tok.NewStreamDecoder()
			var all strings.Builder
			for i, id := range tc.ids {
				got := d.Add(id)
				if got != tc.adds[i] {
					t.Errorf("Add #%d = %q, want %q", i, got, tc.adds[i])
				}
				all.WriteString(got)
			}
			if got := d.Flush(); got != tc.flush {
				t.Errorf("Flush = %q, want %q", got, tc.flush)
			}
			all.WriteString(tc.flush)
			if want := validText([]byte(tok.Decode(tc.ids))); all.String() != want {
				t.Errorf("stream = %q, Decode = %q", all.String(), want)
			}
		})
	}
}

// TestBPELinearMatchesHeap checks the two merge loops against each other on
// random pieces.
func TestBPELinearMatchesHeap(t *testing.T) {
	toks := map[string]*Tokenizer{"synthetic": mustTokenizer(t, synthBPE())}
	for _, name := range []string{"gpt-2", "starcoder"} {
		toks[name] = loadVocab(t, name)
	}
	rng := rand.New(rand.NewSource(1))
	alphabet := []string{"a", "e", "t", "h", "l", "o", " ", "in", "er", "é", "日", "\xff", "1", "'", "\n"}
	for name, tok := range toks {
		var st bpeScratch
		for i := 0; i < 2000; i++ {
			var sb strings.Builder
			for n := 2 + rng.Intn(40); n > 0; n-- {
				sb.WriteString(alphabet[rng.Intn(len(alphabet))])
			}
			piece := sb.String()
			lin := tok.bpe.encodeLinear(piece, &st, nil)
			hp := tok.bpe.encodeHeap(piece, &st, nil)
			if !slices.Equal(lin, hp) {
				t.Fatalf("%s: %q: linear %v, heap %v", name, piece, lin, hp)
			}
		}
	}
}

// TestLongInputs: pieces far past the linear limit, long whitespace runs and
// long special-token runs encode, round-trip and stay fast.
func TestLongInputs(t *testing.T) {
	tests := []struct{ name, text string }{
		{"long word", strings.Repeat("abcdefghij", 20000)},
		{"long spaces", strings.Repeat(" ", 100000) + "x"},
		{"long newlines", strings.Repeat("\n \t", 30000)},
		{"long digits", strings.Repeat("1234567890", 10000)},
		{"many specials", strings.Repeat("<|end|>@@", 5000)},
	}
	for _, tok := range []*Tokenizer{mustTokenizer(t, synthBPE()), mustTokenizer(t, synthSPM())} {
		for _, tc := range tests {
			t.Run(tok.Model()+"/"+tc.name, func(t *testing.T) {
				want := tc.text
				if tok.Model() == "llama" {
					want = " " + want
				}
				if got := tok.Decode(tok.Encode(tc.text, EncodeOptions{})); got != want {
					t.Errorf("round trip differs (len %d vs %d)", len(got), len(want))
				}
			})
		}
	}
}

// TestConcurrentEncode: one Tokenizer shared by many goroutines gives the
// same results as sequential use.
func TestConcurrentEncode(t *testing.T) {
	tok := mustTokenizer(t, synthBPE())
	texts := []string{"hello world", "<|user|>hi<|end|>", strings.Repeat("hello ", 200), "日本語 \xff\xfe", ""}
	want := make([][]int32, len(texts))
	for i, s := range texts {
		want[i] = tok.Encode(s, EncodeOptions{AddSpecial: true, ParseSpecial: true})
	}
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := 0; r < 200; r++ {
				for i, s := range texts {
					if got := tok.Encode(s, EncodeOptions{AddSpecial: true, ParseSpecial: true}); !slices.Equal(got, want[i]) {
						errs <- s
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for s := range errs {
		t.Errorf("concurrent Encode(%q) differs", s)
	}
}

func TestAccessors(t *testing.T) {
	tok := mustTokenizer(t, withKV(synthSPM(), "tokenizer.chat_template", "{{ messages }}"))
	if tok.ChatTemplate() != "{{ messages }}" {
		t.Errorf("ChatTemplate = %q", tok.ChatTemplate())
	}
	if tok.TokenText(1) != "<s>" || tok.TokenText(-1) != "" || tok.TokenText(int32(tok.VocabSize())) != "" {
		t.Error("TokenText out of range handling")
	}
	if tok.TokenType(0) != TokenUnknown || tok.TokenType(1) != TokenControl || tok.TokenType(3) != TokenByte {
		t.Errorf("TokenType: %v %v %v", tok.TokenType(0), tok.TokenType(1), tok.TokenType(3))
	}
	if !tok.IsEOG(tok.EOS()) || tok.IsEOG(tok.BOS()) {
		t.Error("IsEOG(EOS) must be true, IsEOG(BOS) false")
	}
	if tok.Piece(-5) != "" || !utf8.ValidString(tok.Decode([]int32{-1, 99999})) {
		t.Error("out-of-range ids must decode to nothing")
	}
}

// TestSPMChunkingExact: encoding word by word (splitAtSpace) gives the same
// tokens as encoding the whole text as one sequence, as llama.cpp does.
func TestSPMChunkingExact(t *testing.T) {
	toks := []*Tokenizer{mustTokenizer(t, synthSPM())}
	for _, name := range []string{"llama-spm", "phi-3"} {
		toks = append(toks, loadVocab(t, name))
	}
	texts := append(readVectorTexts(t), "hello  world   x", "a▁b ▁▁c", strings.Repeat("The quick brown fox. ", 50))
	for _, tok := range toks {
		if !tok.spm.splitAtSpace {
			continue
		}
		var st spmScratch
		for _, text := range texts {
			esc := spmSpace + strings.ReplaceAll(text, " ", spmSpace)
			whole := tok.spm.encode(esc, &st, nil)
			var chunked []int32
			tok.spm.chunks(esc, func(c string) { chunked = tok.spm.encode(c, &st, chunked) })
			if !slices.Equal(whole, chunked) {
				t.Errorf("%q: whole %v, by words %v", text, whole, chunked)
			}
		}
	}
}

// TestIgnoreMerges: with the Llama 3 pre-tokenizers a piece that is itself a
// token is emitted whole, even when no merge sequence would build it
// (Hugging Face's ignore_merges); other pre-tokenizers merge as usual.
func TestIgnoreMerges(t *testing.T) {
	base := synthBPE()
	var tokens []string
	var types []int32
	for _, p := range base {
		switch p.key {
		case "tokenizer.ggml.tokens":
			tokens = append(slices.Clone(p.val.([]string)), "xyz")
		case "tokenizer.ggml.token_type":
			types = append(slices.Clone(p.val.([]int32)), int32(TokenNormal))
		}
	}
	kvs := withKV(withKV(base, "tokenizer.ggml.tokens", tokens), "tokenizer.ggml.token_type", types)
	xyz := int32(len(tokens) - 1)
	tests := []struct {
		pre   string
		whole bool
	}{
		{"llama-bpe", true},
		{"llama3", true},
		{"gpt-2", false},
		{"qwen2", false},
	}
	for _, tc := range tests {
		t.Run(tc.pre, func(t *testing.T) {
			tok := mustTokenizer(t, withKV(kvs, "tokenizer.ggml.pre", tc.pre))
			ids := tok.Encode("xyz", EncodeOptions{})
			if got := slices.Equal(ids, []int32{xyz}); got != tc.whole {
				t.Errorf("Encode(\"xyz\") = %v; emitted whole = %v, want %v", ids, got, tc.whole)
			}
			if tok.Decode(ids) != "xyz" {
				t.Errorf("Decode = %q", tok.Decode(ids))
			}
		})
	}
}
