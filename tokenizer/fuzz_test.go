package tokenizer

import (
	"os"
	"strings"
	"testing"

	"gpurun/runtime/fixtures"
	"gpurun/runtime/gguf"
)

// fuzzTokenizers are the vocabularies FuzzEncode runs on: the synthetic ones
// always, the fixture and default-model ones when present.
func fuzzTokenizers(f *testing.F) map[string]*Tokenizer {
	toks := map[string]*Tokenizer{
		"synth-bpe": mustTokenizer(f, synthBPE()),
		"synth-spm": mustTokenizer(f, synthSPM()),
	}
	if d := fixtures.Dir(); d != "" {
		for _, name := range []string{"gpt-2", "llama-spm", "deepseek-llm", "falcon", "mpt", "phi-3"} {
			p := d + "/llama-vocab/ggml-vocab-" + name + ".gguf"
			if _, err := os.Stat(p); err == nil {
				toks[name] = loadTokenizer(f, p)
			}
		}
	}
	if root, err := fixtures.RepoRoot(); err == nil {
		p := root + "/models/SmolLM2-135M-Instruct.Q4_1.gguf"
		if _, err := os.Stat(p); err == nil {
			toks["smollm2"] = loadTokenizer(f, p)
		}
	}
	// Pre-tokenizer families without a vocabulary of their own in the
	// fixtures run on the synthetic byte-level vocabulary.
	for _, pre := range []string{"llama-bpe", "qwen2", "deepseek-coder", "smollm", "gpt-4o"} {
		toks["synth-"+pre] = mustTokenizer(f, withKV(synthBPE(), "tokenizer.ggml.pre", pre))
	}
	return toks
}

// expressible reports whether every byte of text has a byte-level token of
// its own, so that text must decode back exactly. Some vocabularies lack a
// few byte characters (SmolLM2 has no token for 0x04; llama.cpp drops such
// bytes too), and DeepSeek spells some only as user-defined tokens ("ÿ", "õ",
// ...), which render as their UTF-8 text, as in llama.cpp: right for the
// valid text "ÿ" that they also match, not for a lone byte 0xFF.
func expressible(tok *Tokenizer, text string) bool {
	if tok.bpe == nil {
		return true // SentencePiece vocabularies here have all 256 byte tokens
	}
	for i := 0; i < len(text); i++ {
		sym := tok.bpe.byteSym[text[i]]
		if sym >= tok.bpe.nVocab || tok.attrs[sym] != attrNormal {
			return false
		}
	}
	return true
}

// FuzzEncode: no input bytes make Encode or Decode panic; every id is in
// range; text without special tokens comes back exactly (invalid UTF-8 too)
// when the vocabulary has a token for each of its bytes (SentencePiece: with
// the dummy prefix, and "▁" read back as a space); the stream decoder writes
// valid UTF-8 equal to Decode's.
func FuzzEncode(f *testing.F) {
	for _, s := range []string{"", " ", "hello world", "<|im_start|>user\nhi<|im_end|>", "\xff\xfe\x00", "é€𝄞", "  \n\t\r\n ", "'s 'LL 123456", "<s></s><unk>", "▁x", "HTTPServer ÀB x//y\n/"} {
		f.Add(s)
	}
	toks := fuzzTokenizers(f)
	f.Fuzz(func(t *testing.T, text string) {
		for name, tok := range toks {
			for _, opt := range []EncodeOptions{{}, {AddSpecial: true, ParseSpecial: true}} {
				ids := tok.Encode(text, opt)
				for _, id := range ids {
					if id < 0 || int(id) >= tok.VocabSize() {
						t.Fatalf("%s: id %d out of range for %q", name, id, text)
					}
				}
				dec := tok.Decode(ids)
				d := tok.NewStreamDecoder()
				var sb strings.Builder
				for _, id := range ids {
					sb.WriteString(d.Add(id))
				}
				sb.WriteString(d.Flush())
				if got, want := sb.String(), validText([]byte(dec)); got != want {
					t.Fatalf("%s: stream %q != Decode %q", name, got, want)
				}
				if opt.ParseSpecial || !expressible(tok, text) {
					continue
				}
				want := text
				if tok.Model() == "llama" {
					want = strings.ReplaceAll(want, spmSpace, " ")
					if text != "" {
						want = " " + want
					}
				}
				if dec != want {
					t.Fatalf("%s: Decode(Encode(%q)) = %q", name, text, dec)
				}
			}
		}
	})
}

// FuzzFromGGUF: a vocabulary read from damaged metadata (wrong types,
// lengths, ids, merges, scores, special-token ids) is refused with an error
// or gives a tokenizer whose Encode and Decode stay in range and never
// panic.
func FuzzFromGGUF(f *testing.F) {
	f.Add(ggufBytes(f, synthBPE()))
	f.Add(ggufBytes(f, synthSPM()))
	f.Add(ggufBytes(f, withKV(synthBPE(), "tokenizer.ggml.pre", "qwen2")))
	texts := []string{"", "hello world", "<|im_start|>user\nhi<|im_end|>", "\xff\xfe\x00 é€𝄞", "<s>▁x</s>"}
	f.Fuzz(func(t *testing.T, b []byte) {
		g, err := gguf.Parse(b)
		if err != nil {
			return
		}
		tok, err := FromGGUF(g)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error of more than one line: %q", err)
			}
			return
		}
		n := tok.VocabSize()
		for _, text := range texts {
			for _, opt := range []EncodeOptions{{}, {AddSpecial: true, ParseSpecial: true}} {
				ids := tok.Encode(text, opt)
				for _, id := range ids {
					if id < 0 || int(id) >= n {
						t.Fatalf("id %d out of range [0, %d) for %q", id, n, text)
					}
				}
				_ = tok.Decode(ids)
			}
		}
		all := make([]int32, min(n, 1024))
		for i := range all {
			all[i] = int32(i)
		}
		_ = tok.Decode(all)
		d := tok.NewStreamDecoder()
		for _, id := range all {
			_ = d.Add(id)
		}
		_ = d.Flush()
	})
}
