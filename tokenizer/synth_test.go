package tokenizer

import (
	"encoding/binary"
	"fmt"
	"math"
	"sort"
	"testing"

	"gpurun/runtime/gguf"
)

// kv is one metadata pair for buildGGUF. Supported values: string, bool,
// uint32, int32, []string, []float32, []int32.
type kv struct {
	key string
	val any
}

// buildGGUF parses the tensor-less GGUF v3 image of ggufBytes.
func buildGGUF(tb testing.TB, kvs []kv) *gguf.File {
	tb.Helper()
	f, err := gguf.Parse(ggufBytes(tb, kvs))
	if err != nil {
		tb.Fatalf("buildGGUF: %v", err)
	}
	return f
}

// ggufBytes lays out a GGUF file (version 3, no tensors) holding kvs.
func ggufBytes(tb testing.TB, kvs []kv) []byte {
	tb.Helper()
	var b []byte
	u32 := func(v uint32) { b = binary.LittleEndian.AppendUint32(b, v) }
	u64 := func(v uint64) { b = binary.LittleEndian.AppendUint64(b, v) }
	str := func(s string) { u64(uint64(len(s))); b = append(b, s...) }
	const (
		tUint32  = 4
		tInt32   = 5
		tFloat32 = 6
		tBool    = 7
		tString  = 8
		tArray   = 9
	)
	u32(0x46554747) // "GGUF"
	u32(3)
	u64(0)
	u64(uint64(len(kvs)))
	for _, p := range kvs {
		str(p.key)
		switch v := p.val.(type) {
		case string:
			u32(tString)
			str(v)
		case bool:
			u32(tBool)
			if v {
				b = append(b, 1)
			} else {
				b = append(b, 0)
			}
		case uint32:
			u32(tUint32)
			u32(v)
		case int32:
			u32(tInt32)
			u32(uint32(v))
		case []string:
			u32(tArray)
			u32(tString)
			u64(uint64(len(v)))
			for _, s := range v {
				str(s)
			}
		case []float32:
			u32(tArray)
			u32(tFloat32)
			u64(uint64(len(v)))
			for _, x := range v {
				u32(math.Float32bits(x))
			}
		case []int32:
			u32(tArray)
			u32(tInt32)
			u64(uint64(len(v)))
			for _, x := range v {
				u32(uint32(x))
			}
		default:
			tb.Fatalf("ggufBytes: unsupported value %T for %s", p.val, p.key)
		}
	}
	return b
}

// synthBPE is a small byte-level BPE vocabulary: the 256 byte characters,
// the results of a few merges, a control token and a user-defined token.
func synthBPE() []kv {
	var tokens []string
	var types []int32
	for b := 0; b < 256; b++ {
		tokens = append(tokens, string(byteToRune[b]))
		types = append(types, int32(TokenNormal))
	}
	merges := []string{"h e", "l l", "he ll", "hell o", "Ġ w", "o r", "Ġw or", "l d", "Ġwor ld", "Ġ h", "Ġh ello", "e llo", "Ã ©"}
	seen := map[string]bool{}
	for _, t := range tokens {
		seen[t] = true
	}
	for _, m := range merges {
		var l, r string
		fmt.Sscanf(m, "%s %s", &l, &r)
		if !seen[l+r] {
			seen[l+r] = true
			tokens = append(tokens, l+r)
			types = append(types, int32(TokenNormal))
		}
	}
	tokens = append(tokens, "<|end|>", "<|user|>", "@@")
	types = append(types, int32(TokenControl), int32(TokenControl), int32(TokenUserDefined))
	return []kv{
		{"tokenizer.ggml.model", "gpt2"},
		{"tokenizer.ggml.pre", "gpt-2"},
		{"tokenizer.ggml.tokens", tokens},
		{"tokenizer.ggml.token_type", types},
		{"tokenizer.ggml.merges", merges},
		{"tokenizer.ggml.bos_token_id", uint32(len(tokens) - 2)},
		{"tokenizer.ggml.eos_token_id", uint32(len(tokens) - 3)},
	}
}

// synthSPM is a small SentencePiece vocabulary with byte fallback.
func synthSPM() []kv {
	tokens := []string{"<unk>", "<s>", "</s>"}
	types := []int32{int32(TokenUnknown), int32(TokenControl), int32(TokenControl)}
	scores := []float32{0, 0, 0}
	for b := 0; b < 256; b++ {
		tokens = append(tokens, fmt.Sprintf("<0x%02X>", b))
		types = append(types, int32(TokenByte))
		scores = append(scores, 0)
	}
	pieces := map[string]float32{"▁": -1, "▁h": -2, "e": -3, "h": -3, "l": -3, "o": -3, "▁he": -4, "ll": -5, "llo": -6, "▁hello": -7, "w": -3, "▁w": -4, "or": -5, "▁wor": -6, "d": -3}
	keys := make([]string, 0, len(pieces))
	for k := range pieces {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		tokens = append(tokens, k)
		types = append(types, int32(TokenNormal))
		scores = append(scores, pieces[k])
	}
	return []kv{
		{"tokenizer.ggml.model", "llama"},
		{"tokenizer.ggml.tokens", tokens},
		{"tokenizer.ggml.token_type", types},
		{"tokenizer.ggml.scores", scores},
		{"tokenizer.ggml.bos_token_id", uint32(1)},
		{"tokenizer.ggml.eos_token_id", uint32(2)},
	}
}

func mustTokenizer(tb testing.TB, kvs []kv) *Tokenizer {
	tb.Helper()
	tok, err := FromGGUF(buildGGUF(tb, kvs))
	if err != nil {
		tb.Fatal(err)
	}
	return tok
}
