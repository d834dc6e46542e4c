// Package tokenizer turns text into token ids and back exactly as a GGUF
// model's tokenizer does, from the tokenizer.ggml.* metadata alone.
//
// Two tokenizer models are supported:
//
//   - "gpt2": byte-level BPE with merges, after the pre-tokenizer named by
//     tokenizer.ggml.pre (GPT-2, Llama 3, Qwen2, SmolLM/StarCoder, Falcon,
//     MPT, DeepSeek LLM/Coder, ... with llama.cpp's names);
//   - "llama": SentencePiece-style BPE by piece scores, with the "▁" space
//     marker, the dummy prefix and <0xHH> byte fallback.
//
// The behaviour follows llama.cpp (llama-vocab.cpp), which in turn matches
// Hugging Face tokenizers on its test vectors: special-token partitioning,
// which tokens end generation, how tokens render when decoding. A Tokenizer is
// immutable after FromGGUF and safe for concurrent use.
package tokenizer

import (
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"gpurun/runtime/gguf"
)

// Metadata keys read by FromGGUF.
const (
	keyModel          = "tokenizer.ggml.model"
	keyPre            = "tokenizer.ggml.pre"
	keyTokens         = "tokenizer.ggml.tokens"
	keyScores         = "tokenizer.ggml.scores"
	keyTypes          = "tokenizer.ggml.token_type"
	keyMerges         = "tokenizer.ggml.merges"
	keyAddBOS         = "tokenizer.ggml.add_bos_token"
	keyAddEOS         = "tokenizer.ggml.add_eos_token"
	keyAddSpacePrefix = "tokenizer.ggml.add_space_prefix"
	keyChatTemplate   = "tokenizer.chat_template"
	keyName           = "general.name"
)

// TokenType is a token's kind, as stored in tokenizer.ggml.token_type (after
// the same corrections llama.cpp applies, e.g. end-of-turn tokens that were
// stored as normal become control tokens).
type TokenType int32

// Token types, with the values GGUF uses.
const (
	TokenUndefined   TokenType = 0
	TokenNormal      TokenType = 1
	TokenUnknown     TokenType = 2
	TokenControl     TokenType = 3
	TokenUserDefined TokenType = 4
	TokenUnused      TokenType = 5
	TokenByte        TokenType = 6
)

func (t TokenType) String() string {
	switch t {
	case TokenNormal:
		return "normal"
	case TokenUnknown:
		return "unknown"
	case TokenControl:
		return "control"
	case TokenUserDefined:
		return "user-defined"
	case TokenUnused:
		return "unused"
	case TokenByte:
		return "byte"
	}
	return "undefined"
}

// attr is llama.cpp's per-token attribute bit set.
type attr uint16

const (
	attrUnknown attr = 1 << iota
	attrUnused
	attrNormal
	attrControl
	attrUserDefined
	attrByte
	attrLStrip // whitespace before the token is dropped when it is parsed
	attrRStrip // whitespace after the token is dropped when it is parsed
)

func attrOf(t TokenType) attr {
	switch t {
	case TokenNormal:
		return attrNormal
	case TokenUnknown:
		return attrUnknown
	case TokenControl:
		return attrControl
	case TokenUserDefined:
		return attrUserDefined
	case TokenUnused:
		return attrUnused
	case TokenByte:
		return attrByte
	}
	return 0
}

// EncodeOptions controls Encode.
type EncodeOptions struct {
	// AddSpecial adds BOS and/or EOS as the model's add_bos_token and
	// add_eos_token say.
	AddSpecial bool
	// ParseSpecial recognises control tokens written in the text (such as
	// "<|im_start|>" in a rendered chat template) as those tokens. Without it
	// they are tokenized as plain text. User-defined tokens (added vocabulary,
	// e.g. MPT's runs of spaces) are always recognised, as by Hugging Face
	// tokenizers and llama.cpp.
	ParseSpecial bool
}

// Tokenizer encodes and decodes text for one vocabulary. It is immutable and
// safe for concurrent use.
type Tokenizer struct {
	model   string // "gpt2" or "llama"
	preName string // tokenizer.ggml.pre as written ("" when absent)
	family  string // the pre-tokenizer pattern family in use (gpt2 models)

	tokens []string
	attrs  []attr
	toID   map[string]int32
	pieces []string // what Decode writes for each token

	bos, eos, unk  int32 // -1 when absent
	eog            []int32
	addBOS, addEOS bool
	addSpacePrefix bool

	specials     []special // partition candidates, longest first
	trieAll      *specialTrie
	trieUser     *specialTrie // only tokens recognised without ParseSpecial; nil if none
	pre          *preTokenizer
	bpe          *bpeModel
	spm          *spmModel
	chatTemplate string
	scratch      sync.Pool // *encodeState
}

// encodeState is per-call working storage, pooled so that steady-state
// encoding allocates little. Each state also carries a bounded cache of
// recently encoded pieces (words), private to the state, so no locking.
type encodeState struct {
	frags []fragment
	spans [2][]span
	bpe   bpeScratch
	spm   spmScratch
	buf   []byte
	cache pieceCache
}

// pieceCache remembers the tokens of short pieces.
type pieceCache struct {
	index map[string]cacheEntry
	ids   []int32
}

type cacheEntry struct{ off, n int32 }

const (
	cacheMaxPieces = 1 << 14 // entries before the cache starts over
	cacheMaxBytes  = 48      // longer pieces are not cached
)

// encodeCached appends the tokens of piece, through the cache.
func (st *encodeState) encodeCached(piece string, encode func(string, []int32) []int32, out []int32) []int32 {
	if len(piece) > cacheMaxBytes {
		return encode(piece, out)
	}
	c := &st.cache
	if e, ok := c.index[piece]; ok {
		return append(out, c.ids[e.off:e.off+e.n]...)
	}
	n0 := len(out)
	out = encode(piece, out)
	if c.index == nil || len(c.index) >= cacheMaxPieces {
		c.index = make(map[string]cacheEntry, 1024)
		c.ids = c.ids[:0]
	}
	// Clone the key: piece points into the caller's text.
	c.index[strings.Clone(piece)] = cacheEntry{int32(len(c.ids)), int32(len(out) - n0)}
	c.ids = append(c.ids, out[n0:]...)
	return out
}

// FromGGUF builds the tokenizer described by f's tokenizer.ggml.* metadata.
// Errors name the metadata key that is missing or malformed.
func FromGGUF(f *gguf.File) (*Tokenizer, error) {
	model, err := f.String(keyModel)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	if model != "gpt2" && model != "llama" {
		return nil, fmt.Errorf("tokenizer: %s %q is not supported (want \"gpt2\" or \"llama\")", keyModel, model)
	}
	tokens, err := f.Strings(keyTokens)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	if len(tokens) == 0 {
		return nil, fmt.Errorf("tokenizer: %s is empty", keyTokens)
	}
	if len(tokens) > 1<<30 {
		return nil, fmt.Errorf("tokenizer: %s has %d tokens, too many", keyTokens, len(tokens))
	}
	tokens = slices.Clone(tokens) // the tokenizer must not change if the file's values do
	n := len(tokens)
	t := &Tokenizer{model: model, tokens: tokens, bos: -1, eos: -1, unk: -1}

	t.attrs = make([]attr, n)
	if f.Has(keyTypes) {
		types, err := f.Int32s(keyTypes)
		if err != nil {
			return nil, fmt.Errorf("tokenizer: %w", err)
		}
		if len(types) != n {
			return nil, fmt.Errorf("tokenizer: %s has %d entries for %d tokens", keyTypes, len(types), n)
		}
		for i, ty := range types {
			t.attrs[i] = attrOf(TokenType(ty))
		}
	} else {
		for i := range t.attrs {
			t.attrs[i] = attrNormal
		}
	}
	t.toID = make(map[string]int32, n)
	for i, s := range tokens {
		if s != "" {
			t.toID[s] = int32(i)
		}
	}

	var spec preSpec
	switch model {
	case "llama":
		t.bos, t.eos, t.unk = 1, 2, 0
		t.addBOS, t.addSpacePrefix = true, true
	case "gpt2":
		pre, err := f.StringOr(keyPre, "")
		if err != nil {
			return nil, fmt.Errorf("tokenizer: %w", err)
		}
		t.preName = pre
		var known bool
		spec, known = preTokenizerFor(pre)
		switch {
		case pre == "":
			slog.Warn("tokenizer: the model names no pre-tokenizer; using the GPT-2 pattern (tokenization may differ from training)", "key", keyPre)
		case !known:
			slog.Warn("tokenizer: unknown pre-tokenizer; using the GPT-2 pattern (tokenization may differ from training)", "key", keyPre, "pre", pre)
		}
		t.family = spec.family
		t.pre = &preTokenizer{name: spec.family, steps: spec.steps()}
		t.addBOS = spec.addBOS
	}

	if err := t.readSpecialIDs(f); err != nil {
		return nil, err
	}
	if t.addBOS, err = f.BoolOr(keyAddBOS, t.addBOS); err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	if t.addEOS, err = f.BoolOr(keyAddEOS, t.addEOS); err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	if t.addSpacePrefix, err = f.BoolOr(keyAddSpacePrefix, t.addSpacePrefix); err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	if t.chatTemplate, err = f.StringOr(keyChatTemplate, ""); err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	// general.name only picks llama.cpp's Phi-3 whitespace rule; a malformed
	// one is no reason to refuse the tokenizer.
	name, _ := f.StringOr(keyName, "")
	t.buildSpecials(name)

	switch model {
	case "gpt2":
		merges, err := f.Strings(keyMerges)
		if err != nil {
			return nil, fmt.Errorf("tokenizer: %w", err)
		}
		if t.bpe, err = newBPEModel(tokens, t.toID, merges, spec.ignoreMerges, keyMerges); err != nil {
			return nil, err
		}
	case "llama":
		scores, err := f.Float32s(keyScores)
		if err != nil {
			return nil, fmt.Errorf("tokenizer: %w", err)
		}
		if len(scores) != n {
			return nil, fmt.Errorf("tokenizer: %s has %d entries for %d tokens", keyScores, len(scores), n)
		}
		t.spm = t.newSPMModel(slices.Clone(scores))
	}
	t.pieces = make([]string, n)
	for i := range tokens {
		t.pieces[i] = t.renderToken(int32(i))
	}
	t.scratch.New = func() any { return new(encodeState) }
	return t, nil
}

func (t *Tokenizer) newSPMModel(scores []float32) *spmModel {
	m := &spmModel{pieces: make(map[string]int32, len(t.tokens)), scores: scores, unk: t.unk}
	for i, s := range t.tokens {
		// Control, unknown and byte tokens are never formed by merging text.
		if s != "" && t.attrs[i]&(attrControl|attrUnknown|attrByte) == 0 {
			m.pieces[s] = int32(i)
		}
	}
	m.splitAtSpace = newSPMSplitAtSpace(m.pieces)
	for b := range m.byteTok {
		m.byteTok[b] = -1
		if id, ok := t.toID[fmt.Sprintf("<0x%02X>", b)]; ok {
			m.byteTok[b] = id
		} else if id, ok := t.toID[string([]byte{byte(b)})]; ok {
			m.byteTok[b] = id
		}
	}
	return m
}

// renderToken is the text Decode writes for id, following llama.cpp's
// token_to_piece without special rendering: control and unknown tokens write
// nothing, user-defined tokens their text, normal tokens their decoded text,
// byte tokens (SentencePiece) their byte.
func (t *Tokenizer) renderToken(id int32) string {
	a, text := t.attrs[id], t.tokens[id]
	switch {
	case a&(attrControl|attrUnknown) != 0:
		return ""
	case a&attrUserDefined != 0:
		return text
	case a&attrNormal != 0:
		if t.model == "gpt2" {
			return string(byteLevelDecode(text))
		}
		return strings.ReplaceAll(text, spmSpace, " ")
	case a&attrByte != 0 && t.model == "llama":
		if b, ok := parseByteToken(text); ok {
			return string([]byte{b})
		}
	}
	return ""
}

// parseByteToken reads "<0xHH>".
func parseByteToken(s string) (byte, bool) {
	if len(s) != 6 || !strings.HasPrefix(s, "<0x") || s[5] != '>' {
		return 0, false
	}
	v, err := strconv.ParseUint(s[3:5], 16, 8)
	if err != nil {
		return 0, false
	}
	return byte(v), true
}

// readID reads an optional token id key. A missing key, a negative value or
// an id outside the vocabulary leaves def (llama.cpp warns and does the same
// for the last).
func readID(f *gguf.File, key string, def int32, n int) (int32, error) {
	v, ok := f.Get(key)
	if !ok {
		return def, nil
	}
	switch x := v.V.(type) {
	case int8:
		if x < 0 {
			return -1, nil
		}
	case int16:
		if x < 0 {
			return -1, nil
		}
	case int32:
		if x < 0 {
			return -1, nil
		}
	case int64:
		if x < 0 {
			return -1, nil
		}
	}
	u, err := f.Uint32(key)
	if err != nil {
		return 0, fmt.Errorf("tokenizer: %w", err)
	}
	if int64(u) >= int64(n) {
		if u != ^uint32(0) {
			slog.Debug("tokenizer: token id out of range; using the default", "key", key, "id", u, "default", def)
		}
		return def, nil
	}
	return int32(u), nil
}

// Token texts llama.cpp uses to recognise special tokens the metadata does not
// name (llama-vocab.cpp, "auto-detect special tokens by text").
var (
	eotTexts = []string{"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>",
		"<|end_of_text|>", "<EOT>", "_<EOT>", "[EOT]", "<｜end▁of▁sentence｜>", "<end_of_utterance>"}
	eomTexts    = []string{"<|eom_id|>"}
	fimPreTexts = []string{"<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<PRE>", "<|code_prefix|>", "<|prefix|>", "<｜fim▁begin｜>"}
	fimSufTexts = []string{"<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<SUF>", "<|code_suffix|>", "<|suffix|>", "<｜fim▁hole｜>"}
	fimMidTexts = []string{"<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<MID>", "<|code_middle|>", "<|middle|>", "<｜fim▁end｜>"}
	fimPadTexts = []string{"<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"}
	fimRepTexts = []string{"<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"}
	fimSepTexts = []string{"<|file_sep|>"}
	// eogTexts end generation wherever they appear in the vocabulary.
	eogTexts = []string{"<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>",
		"<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]",
		"<|end_of_text|>", "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>"}
	// alwaysRendered are gpt-oss tokens llama.cpp turns into user-defined ones.
	alwaysRendered = []string{"<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"}
)

// readSpecialIDs sets bos/eos/unk, the end-of-generation set, and the
// control-type corrections, as llama.cpp's vocabulary loader does.
func (t *Tokenizer) readSpecialIDs(f *gguf.File) error {
	n := len(t.tokens)
	var err error
	id := func(key string, def int32) int32 {
		if err != nil {
			return def
		}
		var v int32
		v, err = readID(f, key, def, n)
		return v
	}
	if t.bos >= int32(n) {
		t.bos = -1
	}
	if t.eos >= int32(n) {
		t.eos = -1
	}
	if t.unk >= int32(n) {
		t.unk = -1
	}
	t.bos = id("tokenizer.ggml.bos_token_id", t.bos)
	t.eos = id("tokenizer.ggml.eos_token_id", t.eos)
	t.unk = id("tokenizer.ggml.unknown_token_id", t.unk)
	eot := id("tokenizer.ggml.eot_token_id", -1)
	eom := id("tokenizer.ggml.eom_token_id", -1)
	fimPre := id("tokenizer.ggml.fim_pre_token_id", id("tokenizer.ggml.prefix_token_id", -1))
	fimSuf := id("tokenizer.ggml.fim_suf_token_id", id("tokenizer.ggml.suffix_token_id", -1))
	fimMid := id("tokenizer.ggml.fim_mid_token_id", id("tokenizer.ggml.middle_token_id", -1))
	fimPad := id("tokenizer.ggml.fim_pad_token_id", -1)
	fimRep := id("tokenizer.ggml.fim_rep_token_id", -1)
	fimSep := id("tokenizer.ggml.fim_sep_token_id", -1)
	if err != nil {
		return err
	}

	// detect finds the first listed text in the vocabulary and makes it a
	// control token.
	detect := func(cur int32, texts []string) int32 {
		if cur >= 0 {
			return cur
		}
		for _, s := range texts {
			if i, ok := t.toID[s]; ok {
				t.attrs[i] |= attrControl
				return i
			}
		}
		return -1
	}
	eot = detect(eot, eotTexts)
	eom = detect(eom, eomTexts)
	detect(fimPre, fimPreTexts)
	detect(fimSuf, fimSufTexts)
	detect(fimMid, fimMidTexts)
	fimPad = detect(fimPad, fimPadTexts)
	fimRep = detect(fimRep, fimRepTexts)
	fimSep = detect(fimSep, fimSepTexts)

	eog := map[int32]bool{}
	for _, i := range []int32{fimPad, fimRep, fimSep} {
		if i >= 0 {
			eog[i] = true
		}
	}
	for _, s := range eogTexts {
		if i, ok := t.toID[s]; ok {
			eog[i] = true
			t.attrs[i] |= attrControl
		}
	}
	for _, s := range alwaysRendered {
		if i, ok := t.toID[s]; ok {
			t.attrs[i] = attrUserDefined
		}
	}
	for _, i := range []int32{t.eos, eot, eom} {
		if i >= 0 {
			eog[i] = true
		}
	}
	// Harmony-style vocabularies end turns with <|return|>/<|call|>; there
	// <|end|> separates messages and must not stop generation.
	has := func(s string) (int32, bool) {
		i, ok := t.toID[s]
		return i, ok && eog[i]
	}
	if end, ok := has("<|end|>"); ok {
		_, ret := has("<|return|>")
		_, call := has("<|call|>")
		_, calls := has("<|calls|>")
		_, flush := has("<|flush|>")
		if (ret && (call || calls)) || ((call || calls) && flush) {
			delete(eog, end)
			t.attrs[end] = attrUserDefined
		}
	}
	if s, ok := has("</s>"); ok {
		if _, tool := has("<|tool_response>"); tool {
			delete(eog, s)
			t.attrs[s] = attrNormal
		}
	}
	for i := range eog {
		t.eog = append(t.eog, i)
	}
	sort.Slice(t.eog, func(a, b int) bool { return t.eog[a] < t.eog[b] })
	return nil
}

// BOS is the beginning-of-sequence token, or -1.
func (t *Tokenizer) BOS() int32 { return t.bos }

// EOS is the end-of-sequence token, or -1.
func (t *Tokenizer) EOS() int32 { return t.eos }

// AddBOS reports whether Encode with AddSpecial starts with BOS.
func (t *Tokenizer) AddBOS() bool { return t.addBOS && t.bos >= 0 }

// AddEOS reports whether Encode with AddSpecial ends with EOS.
func (t *Tokenizer) AddEOS() bool { return t.addEOS && t.eos >= 0 }

// VocabSize is the number of tokens.
func (t *Tokenizer) VocabSize() int { return len(t.tokens) }

// Model is tokenizer.ggml.model: "gpt2" or "llama".
func (t *Tokenizer) Model() string { return t.model }

// PreTokenizer is tokenizer.ggml.pre as written in the file and the pattern
// family in use for it ("" for SentencePiece vocabularies).
func (t *Tokenizer) PreTokenizer() (name, family string) { return t.preName, t.family }

// AddSpacePrefix reports whether encoding prepends the SentencePiece dummy
// space ("▁") to text that starts a sequence; decoders strip it again there.
func (t *Tokenizer) AddSpacePrefix() bool { return t.addSpacePrefix }

// ChatTemplate is tokenizer.chat_template, or "".
func (t *Tokenizer) ChatTemplate() string { return t.chatTemplate }

// IsEOG reports whether id ends generation: EOS, end-of-turn tokens such as
// <|im_end|>, <|eot_id|>, <|endoftext|>, </s>, and the FIM pad/repo/separator
// tokens, as llama.cpp decides.
func (t *Tokenizer) IsEOG(id int32) bool {
	for _, e := range t.eog {
		if e == id {
			return true
		}
	}
	return false
}

// EOG lists the end-of-generation tokens in increasing order.
func (t *Tokenizer) EOG() []int32 { return append([]int32(nil), t.eog...) }

// TokenText is the token's string as stored in the vocabulary ("Ġthe",
// "▁the", "<0x0A>", "<|im_end|>"), or "" for an id out of range.
func (t *Tokenizer) TokenText(id int32) string {
	if id < 0 || int(id) >= len(t.tokens) {
		return ""
	}
	return t.tokens[id]
}

// TokenType is the token's type (TokenUndefined for an id out of range).
func (t *Tokenizer) TokenType(id int32) TokenType {
	if id < 0 || int(id) >= len(t.attrs) {
		return TokenUndefined
	}
	a := t.attrs[id]
	switch {
	case a&attrControl != 0:
		return TokenControl
	case a&attrUnknown != 0:
		return TokenUnknown
	case a&attrUserDefined != 0:
		return TokenUserDefined
	case a&attrByte != 0:
		return TokenByte
	case a&attrUnused != 0:
		return TokenUnused
	case a&attrNormal != 0:
		return TokenNormal
	}
	return TokenUndefined
}

// Piece is the text Decode writes for one token ("" for control tokens and
// ids out of range). It can hold part of a UTF-8 character.
func (t *Tokenizer) Piece(id int32) string {
	if id < 0 || int(id) >= len(t.pieces) {
		return ""
	}
	return t.pieces[id]
}

// Encode tokenizes text. It never fails: any byte sequence, invalid UTF-8
// included, gets tokens (byte-level BPE covers every byte; SentencePiece
// falls back to <0xHH> byte tokens).
func (t *Tokenizer) Encode(text string, opt EncodeOptions) []int32 {
	st := t.scratch.Get().(*encodeState)
	defer t.scratch.Put(st)

	out := make([]int32, 0, len(text)/3+4)
	if opt.AddSpecial && t.AddBOS() {
		out = append(out, t.bos)
	}
	st.frags = t.partition(text, opt.ParseSpecial, st.frags[:0])
	prevSpecial := true
	for _, fr := range st.frags {
		if fr.tok >= 0 {
			out = append(out, fr.tok)
			prevSpecial = true
			continue
		}
		raw := text[fr.start:fr.end]
		if t.spm != nil {
			buf := st.buf[:0]
			if t.addSpacePrefix && prevSpecial {
				buf = append(buf, spmSpace...)
			}
			for i := 0; i < len(raw); i++ {
				if raw[i] == ' ' {
					buf = append(buf, spmSpace...)
				} else {
					buf = append(buf, raw[i])
				}
			}
			st.buf = buf
			encode := func(chunk string, out []int32) []int32 { return t.spm.encode(chunk, &st.spm, out) }
			t.spm.chunks(string(buf), func(chunk string) { out = st.encodeCached(chunk, encode, out) })
		} else {
			var pieces []span
			pieces, st.spans = t.pre.split(raw, st.spans)
			encode := func(piece string, out []int32) []int32 { return t.bpe.encodePiece(piece, &st.bpe, out) }
			for _, p := range pieces {
				out = st.encodeCached(raw[p.start:p.end], encode, out)
			}
		}
		prevSpecial = false
	}
	if opt.AddSpecial && t.AddEOS() {
		out = append(out, t.eos)
	}
	return out
}
