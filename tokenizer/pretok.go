package tokenizer

import (
	"unicode"
	"unicode/utf8"
)

// A pre-tokenizer cuts text into pieces ("words") before byte-level BPE
// merges run inside each piece. Models name theirs in tokenizer.ggml.pre;
// each is a sequence of regex splits (Hugging Face's Split pre-tokenizer
// with behaviour "isolated"): every match of the pattern becomes a piece and
// so does every stretch of text between matches, and each later pattern
// further splits the pieces of the earlier ones.
//
// The patterns are implemented as hand-written scanners rather than with a
// regex engine: Go's regexp has no look-ahead (\s+(?!\S)), and a scanner is
// several times faster. Each matcher below names the pattern it implements.

// span is a piece of the text: s[start:end].
type span struct{ start, end int }

// splitStep splits s[start:end] and appends the resulting pieces to out.
type splitStep func(s string, start, end int, out []span) []span

// matcher reports the byte length of the pattern's match anchored at s[i]
// (with the text ending at end), or 0 when it does not match there.
type matcher func(s string, i, end int) int

// preTokenizer is a named sequence of split steps.
type preTokenizer struct {
	name  string
	steps []splitStep
}

// split cuts s into pieces. scratch is reused storage; the result may alias it.
func (p *preTokenizer) split(s string, scratch [2][]span) ([]span, [2][]span) {
	cur := append(scratch[0][:0], span{0, len(s)})
	next := scratch[1][:0]
	for _, step := range p.steps {
		next = next[:0]
		for _, sp := range cur {
			next = step(s, sp.start, sp.end, next)
		}
		cur, next = next, cur
	}
	return cur, [2][]span{cur, next}
}

// isolate turns a matcher into a split: leftmost matches and the gaps
// between them become pieces, in order.
func isolate(m matcher) splitStep {
	return func(s string, start, end int, out []span) []span {
		gap := start
		for i := start; i < end; {
			if n := m(s, i, end); n > 0 {
				if gap < i {
					out = append(out, span{gap, i})
				}
				out = append(out, span{i, i + n})
				i += n
				gap = i
				continue
			}
			_, w := runeAt(s, i, end)
			i += w
		}
		if gap < end {
			out = append(out, span{gap, end})
		}
		return out
	}
}

// runOf returns the end of the run of code points of class c starting at i.
func runOf(s string, i, end int, c charClass) int {
	for i < end {
		c2, w := classAt(s, i, end)
		if c2 != c {
			break
		}
		i += w
	}
	return i
}

// runWhere returns the end of the run of code points satisfying in.
func runWhere(s string, i, end int, in func(rune) bool) int {
	for i < end {
		r, w := runeAt(s, i, end)
		if !in(r) {
			break
		}
		i += w
	}
	return i
}

// matchContraction: 's|'t|'re|'ve|'m|'ll|'d (ASCII case-insensitive when
// fold is set, as Llama 3's (?i:...) adapted by llama.cpp to [sS] etc.).
func matchContraction(s string, i, end int, fold bool) int {
	if i+1 >= end || s[i] != '\'' {
		return 0
	}
	lower := func(b byte) byte {
		if fold && b >= 'A' && b <= 'Z' {
			return b + 'a' - 'A'
		}
		return b
	}
	switch lower(s[i+1]) {
	case 's', 't', 'm', 'd':
		return 2
	}
	if i+2 < end {
		a, b := lower(s[i+1]), lower(s[i+2])
		if (a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l') {
			return 3
		}
	}
	return 0
}

// matchTrailingSpaces handles the whitespace alternatives shared by the
// GPT-2 and Llama 3 patterns: \s+(?!\S)|\s+ anchored at a whitespace
// character. A run of whitespace that is followed by a non-space gives up its
// last character, which then leads the next piece (" world").
func matchTrailingSpaces(s string, i, end int) int {
	j, last, n := i, i, 0
	for {
		c, w := classAt(s, j, end)
		if c != classSpace {
			break
		}
		last = j
		j += w
		n++
	}
	if j == end || n <= 1 {
		return j - i
	}
	return last - i
}

// matchGPT2 implements the GPT-2 pattern
//
//	's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
func matchGPT2(s string, i, end int) int {
	if s[i] == '\'' {
		if n := matchContraction(s, i, end, false); n > 0 {
			return n
		}
	}
	c, _ := classAt(s, i, end)
	j := i
	if s[i] == ' ' {
		if c2, _ := classAt(s, i+1, end); c2 == classLetter || c2 == classNumber || c2 == classOther {
			c, j = c2, i+1
		}
	}
	if c == classSpace {
		return matchTrailingSpaces(s, i, end)
	}
	return runOf(s, j, end, c) - i
}

// matchLlama3 implements the Llama 3 pattern (maxDigits 3) and the Qwen2
// pattern (maxDigits 1):
//
//	(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
func matchLlama3(s string, i, end, maxDigits int) int {
	b := s[i]
	if b == '\'' {
		if n := matchContraction(s, i, end, true); n > 0 {
			return n
		}
	}
	c, w := classAt(s, i, end)
	switch c {
	case classLetter:
		return runOf(s, i, end, classLetter) - i
	case classNumber:
		j := i
		for k := 0; k < maxDigits; k++ {
			c2, w2 := classAt(s, j, end)
			if c2 != classNumber {
				break
			}
			j += w2
		}
		return j - i
	}
	// c is whitespace or "other": [^\r\n\p{L}\p{N}]?\p{L}+
	if b != '\r' && b != '\n' {
		if c2, _ := classAt(s, i+w, end); c2 == classLetter {
			return runOf(s, i+w, end, classLetter) - i
		}
	}
	return matchPunctOrSpace(s, i, end, c, false)
}

// matchPunctOrSpace is the tail shared by the Llama 3 and GPT-4o patterns,
// at s[i] of class c (whitespace or "other"):
//
//	[ ]?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
//
// with [\r\n/]* after the punctuation when slash (GPT-4o).
func matchPunctOrSpace(s string, i, end int, c charClass, slash bool) int {
	// ` ?[^\s\p{L}\p{N}]+[\r\n]*`
	b, j := s[i], i
	if b == ' ' {
		if c2, _ := classAt(s, i+1, end); c2 == classOther {
			c, j = classOther, i+1
		}
	}
	if c == classOther {
		j = runOf(s, j, end, classOther)
		for j < end && (s[j] == '\r' || s[j] == '\n' || (slash && s[j] == '/')) {
			j++
		}
		return j - i
	}
	if c != classSpace {
		return 0
	}
	// c is whitespace: \s*[\r\n]+ ends just after the run's last newline.
	nl := -1
	for j = i; ; {
		c2, w2 := classAt(s, j, end)
		if c2 != classSpace {
			break
		}
		if s[j] == '\r' || s[j] == '\n' {
			nl = j + 1
		}
		j += w2
	}
	if nl > 0 {
		return nl - i
	}
	return matchTrailingSpaces(s, i, end)
}

// matchGPT4o implements the GPT-4o pattern (tokenizer.ggml.pre "gpt-4o":
// Phi-4-mini, Llama 4) in the form llama.cpp runs it:
//
//	[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))*((?=[\p{L}])([^A-Z]))+(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?
//	|[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))+((?=[\p{L}])([^A-Z]))*(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?
//	|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+
//
// A letter other than a-z counts as "upper", one other than A-Z as
// "lower": a letter of another script is both.
func matchGPT4o(s string, i, end int) int {
	c, w := classAt(s, i, end)
	j := i // after the optional leading [^\r\n\p{L}\p{N}]
	if c != classLetter && c != classNumber && c != classEnd && s[i] != '\r' && s[i] != '\n' {
		if c2, _ := classAt(s, i+w, end); c2 == classLetter {
			j = i + w
		}
	}
	if c2, _ := classAt(s, j, end); c2 == classLetter {
		return matchCasedWord(s, j, end) - i
	}
	if c == classNumber {
		j := i
		for k := 0; k < 3; k++ {
			c2, w2 := classAt(s, j, end)
			if c2 != classNumber {
				break
			}
			j += w2
		}
		return j - i
	}
	return matchPunctOrSpace(s, i, end, c, true)
}

// matchCasedWord returns the end of GPT-4o's letter alternatives from the
// letter at s[i], then an optional contraction. U*L+ comes first: its U*
// backtracks from the longest run of "upper" letters to the first that an
// L follows. A letter ending that run is lowercase ASCII (an L), so U*L+
// takes the run and the L letters after it; when the run ends the word, it
// ends at the run's last letter that is also an L (another script's), and
// without one U+L* takes the whole run.
func matchCasedWord(s string, i, end int) int {
	j, lastL := i, -1 // after the "upper" run; the end of its last L letter
	for {
		c, w := classAt(s, j, end)
		if c != classLetter || (s[j] >= 'a' && s[j] <= 'z') {
			break
		}
		if s[j] >= utf8.RuneSelf { // another script's letter: upper and lower
			lastL = j + w
		}
		j += w
	}
	e := j
	switch c, _ := classAt(s, j, end); {
	case c == classLetter: // a-z: U*L+ with all of the run, then the L letters
		for {
			c, w := classAt(s, e, end)
			if c != classLetter || (s[e] >= 'A' && s[e] <= 'Z') {
				break
			}
			e += w
		}
	case lastL > 0: // U*L+ ending at the run's last L letter
		e = lastL
	}
	if n := matchContraction(s, e, end, true); n > 0 {
		e += n
	}
	return e
}

// matchNewline: [\r\n]
func matchNewline(s string, i, end int) int {
	if s[i] == '\r' || s[i] == '\n' {
		return 1
	}
	return 0
}

// matchSpaceThenRun builds \s?[set]+ for a set given as a predicate.
func matchSpaceThenRun(in func(rune) bool) matcher {
	return func(s string, i, end int) int {
		r, w := runeAt(s, i, end)
		j := i
		if !in(r) {
			if !unicode.IsSpace(r) {
				return 0
			}
			if r2, _ := runeAt(s, i+w, end); r2 < 0 || !in(r2) {
				return 0
			}
			j = i + w
		}
		return runWhere(s, j, end, in) - i
	}
}

// matchRun builds [set]+.
func matchRun(in func(rune) bool) matcher {
	return func(s string, i, end int) int {
		return runWhere(s, i, end, in) - i
	}
}

// matchOne builds [set] (a single code point).
func matchOne(in func(rune) bool) matcher {
	return func(s string, i, end int) int {
		if r, w := runeAt(s, i, end); in(r) {
			return w
		}
		return 0
	}
}

// match3Digits: [0-9][0-9][0-9]
func match3Digits(s string, i, end int) int {
	if i+3 <= end && isDigit(s[i]) && isDigit(s[i+1]) && isDigit(s[i+2]) {
		return 3
	}
	return 0
}

func isDigit(b byte) bool { return b >= '0' && b <= '9' }

// splitTrailingSpace implements \s+$ : the whitespace run that ends the
// piece, if any, becomes a piece of its own.
func splitTrailingSpace(s string, start, end int, out []span) []span {
	t := end
	for t > start {
		r, w := utf8.DecodeLastRuneInString(s[start:t])
		if (r == utf8.RuneError && w <= 1) || !unicode.IsSpace(r) {
			break
		}
		t -= w
	}
	if t > start {
		out = append(out, span{start, t})
	}
	if t < end {
		out = append(out, span{t, end})
	}
	return out
}

// Character sets used by the DeepSeek pre-tokenizers, written as in their
// tokenizer.json patterns.
var (
	// deepseekLetters is the cased-letter class of DeepSeek LLM's second split.
	// Characters that Unicode normalization would replace (they have
	// singleton decompositions, e.g. U+2126 OHM SIGN) are escaped so that no
	// editor or tool can silently change the ranges.
	deepseekLetters = parseRuneSet("A-Za-zµÀ-ÖØ-öø-ƺƼ-ƿǄ-ʓʕ-ʯͰ-ͳͶͷͻ-ͽͿΆΈ-ΊΌΎ-ΡΣ-ϵϷ-ҁҊ-ԯԱ-ՖႠ-ჅᎠ-Ᏽᏸ-ᏽᲐ-ᲺᲽ-Ჿᴀ-ᴫᵫ-ᵷᵹ-ᶚḀ-ἕἘ-Ἕἠ-ὅὈ-Ὅὐ-ὗὙὛὝ\u1f5f-\u1f7dᾀ-ᾴᾶ-ᾼ\u1fbeῂ-ῄῆ-ῌ\u1fd0-\u1fd3\u1fd6-\u1fdbῠ-Ῥῲ-ῴῶ-ῼℂℇℊ-ℓℕℙ-ℝℤ\u2126ℨ\u212a-ℭℯ-ℴℹℼ-ℿⅅ-ⅉⅎↃↄⰀ-ⱻⱾ-ⳤⳫ-ⳮⳲⳳꙀ-ꙭꚀ-ꚛꜢ-ꝯꝱ-ꞇꞋ-ꞎꭰ-ꮿﬀ-ﬆﬓ-ﬗＡ-Ｚａ-ｚ𐐀-𐑏𐒰-𐓓𐓘-𐓻𐲀-𐲲𐳀-𐳲𑢠-𑣟𞤀-𞥃")
	// deepseekPunct is the ASCII/fullwidth punctuation class of its third split.
	deepseekPunct = parseRuneSet("!-/:-~！-／：-～‘-‟　-。")
	// deepseekCJK is the CJK/Hangul class: [一-龥ࠀ-一가-퟿]
	deepseekCJK = parseRuneSet("一-龥ࠀ-一가-퟿")
)

func isNumber(r rune) bool {
	if r < utf8.RuneSelf {
		return r >= 0 && asciiClass[r] == classNumber
	}
	return unicode.IsNumber(r)
}

// isFalconPunct: [\p{P}\$\+<=>\^~\|`]
func isFalconPunct(r rune) bool {
	switch r {
	case '$', '+', '<', '=', '>', '^', '~', '|', '`':
		return true
	}
	return r >= 0 && unicode.IsPunct(r)
}

// Pre-tokenizer families. Each builds a fresh, immutable preTokenizer.
func gpt2Steps() []splitStep { return []splitStep{isolate(matchGPT2)} }

func llama3Steps(maxDigits int) []splitStep {
	return []splitStep{isolate(func(s string, i, end int) int { return matchLlama3(s, i, end, maxDigits) })}
}

func digitsThenGPT2Steps() []splitStep {
	return []splitStep{splitEachNumber, isolate(matchGPT2)}
}

// splitEachNumber is isolate(matchOne(isNumber)), i.e. \p{N} (every digit
// its own piece), with a fast path for ASCII.
func splitEachNumber(s string, start, end int, out []span) []span {
	gap := start
	for i := start; i < end; {
		w, num := 1, false
		if b := s[i]; b < utf8.RuneSelf {
			num = isDigit(b) // the only ASCII \p{N}
		} else {
			var r rune
			r, w = runeAt(s, i, end)
			num = unicode.IsNumber(r)
		}
		if num {
			if gap < i {
				out = append(out, span{gap, i})
			}
			out = append(out, span{i, i + w})
			gap = i + w
		}
		i += w
	}
	if gap < end {
		out = append(out, span{gap, end})
	}
	return out
}

func falconSteps() []splitStep {
	return []splitStep{isolate(matchRun(isFalconPunct)), isolate(matchGPT2), isolate(match3Digits)}
}

func deepseekLLMSteps() []splitStep {
	return []splitStep{
		isolate(matchNewline),
		isolate(matchSpaceThenRun(deepseekLetters.contains)),
		isolate(matchSpaceThenRun(deepseekPunct.contains)),
		splitTrailingSpace,
		isolate(matchRun(deepseekCJK.contains)),
		isolate(matchRun(isNumber)),
	}
}

func deepseekCoderSteps() []splitStep {
	isLetter := func(r rune) bool { return r >= 0 && unicode.IsLetter(r) }
	isPunct := func(r rune) bool { return r >= 0 && unicode.IsPunct(r) }
	return []splitStep{
		isolate(matchNewline),
		isolate(matchSpaceThenRun(isLetter)),
		isolate(matchSpaceThenRun(isPunct)),
		isolate(matchRun(deepseekCJK.contains)),
		isolate(matchOne(isNumber)),
	}
}

// preSpec is what a tokenizer.ggml.pre name selects.
type preSpec struct {
	family       string // the pattern family, for messages and tests
	steps        func() []splitStep
	ignoreMerges bool // a piece that is itself a token is emitted whole (Llama 3)
	addBOS       bool // default for add_bos_token when the file does not say
}

// preTokenizerFor maps a tokenizer.ggml.pre name to its pre-tokenizer, using
// the same names as llama.cpp. ok is false for an unknown name.
func preTokenizerFor(name string) (spec preSpec, ok bool) {
	switch name {
	case "", "default", "gpt-2", "gpt2", "mpt", "olmo", "jais", "phi-2", "jina-es", "jina-de",
		"gigachat", "jina-v1-en", "jina-v2-es", "jina-v2-de", "jina-v2-code", "roberta-bpe":
		return preSpec{family: "gpt2", steps: gpt2Steps}, true
	case "llama3", "llama-v3", "llama-bpe", "falcon3":
		return preSpec{family: "llama3", steps: func() []splitStep { return llama3Steps(3) }, ignoreMerges: true, addBOS: true}, true
	case "dbrx", "smaug-bpe":
		return preSpec{family: "llama3", steps: func() []splitStep { return llama3Steps(3) }}, true
	case "qwen2", "qwen2.5", "qwen-2.5", "deepseek-r1-qwen", "stablelm2", "megrez":
		return preSpec{family: "qwen2", steps: func() []splitStep { return llama3Steps(1) }}, true
	case "starcoder", "refact", "smollm", "command-r", "codeshell", "exaone", "minerva-7b":
		return preSpec{family: "digits+gpt2", steps: digitsThenGPT2Steps}, true
	case "falcon":
		return preSpec{family: "falcon", steps: falconSteps}, true
	case "deepseek-llm":
		return preSpec{family: "deepseek-llm", steps: deepseekLLMSteps}, true
	case "deepseek-coder":
		return preSpec{family: "deepseek-coder", steps: deepseekCoderSteps}, true
	case "gpt-4o", "llama4":
		return preSpec{family: "gpt-4o", steps: func() []splitStep { return []splitStep{isolate(matchGPT4o)} }}, true
	}
	return preSpec{family: "gpt2", steps: gpt2Steps}, false
}
