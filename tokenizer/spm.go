package tokenizer

import "strings"

// SentencePiece-style BPE (tokenizer.ggml.model = "llama").
//
// Spaces are written as "▁" (U+2581) and, at the start of the text or after
// a special token, a dummy "▁" is prepended. The text starts as one symbol
// per character; the adjacent pair whose concatenation is the vocabulary
// piece with the highest score is merged first (leftmost on ties), until no
// pair forms a piece. A character that is no piece is written as its UTF-8
// bytes with the <0xHH> byte tokens.

const spmSpace = "\u2581"

type spmModel struct {
	pieces  map[string]int32 // tokens that text may be merged into
	scores  []float32
	byteTok [256]int32 // <0xHH> tokens; -1 where absent
	unk     int32
	// splitAtSpace: no piece has a "▁" right after another character, so
	// no merge can cross the start of a word ("x▁" + "▁y"), and words can be
	// encoded one at a time with the same result as the whole text.
	splitAtSpace bool
}

// newSPMSplitAtSpace decides splitAtSpace for the mergeable pieces.
func newSPMSplitAtSpace(pieces map[string]int32) bool {
	for p := range pieces {
		for i := 1; i < len(p); i++ {
			if strings.HasPrefix(p[i:], spmSpace) && !strings.HasSuffix(p[:i], spmSpace) {
				return false
			}
		}
	}
	return true
}

// chunks calls fn on the pieces of the escaped text that can be encoded
// independently: the whole text, or each word (a run of "▁" and what
// follows up to the next run) when splitAtSpace allows.
func (m *spmModel) chunks(text string, fn func(string)) {
	if !m.splitAtSpace {
		fn(text)
		return
	}
	start := 0
	for i := 0; i < len(text); {
		j := strings.Index(text[i:], spmSpace)
		if j < 0 {
			break
		}
		j += i
		if j > start && !strings.HasSuffix(text[:j], spmSpace) {
			fn(text[start:j])
			start = j
		}
		i = j + len(spmSpace)
	}
	if start < len(text) {
		fn(text[start:])
	}
}

type spmSymbol struct {
	start, n   int32 // bytes of the escaped text
	prev, next int32
}

type spmPair struct {
	score       float32
	left, right int32
	size        int32
}

// spmLess orders the queue: highest score first, then leftmost.
func spmLess(a, b *spmPair) bool {
	return a.score > b.score || (a.score == b.score && a.left < b.left)
}

type spmScratch struct {
	syms []spmSymbol
	heap []spmPair
}

// encode appends the tokens of text, which must already be escaped (spaces
// as ▁, dummy prefix added).
func (m *spmModel) encode(text string, st *spmScratch, out []int32) []int32 {
	if text == "" {
		return out
	}
	syms := st.syms[:0]
	for i := 0; i < len(text); {
		_, w := runeAt(text, i, len(text))
		syms = append(syms, spmSymbol{start: int32(i), n: int32(w), prev: int32(len(syms) - 1), next: int32(len(syms) + 1)})
		i += w
	}
	syms[len(syms)-1].next = -1

	h := st.heap[:0]
	push := func(l, r int32) {
		if l < 0 || r < 0 {
			return
		}
		a, b := syms[l], syms[r]
		piece := text[a.start : b.start+b.n]
		id, ok := m.pieces[piece]
		if !ok {
			return
		}
		h = append(h, spmPair{score: m.scores[id], left: l, right: r, size: int32(len(piece))})
		siftUp(h, len(h)-1, spmLess)
	}
	for i := 1; i < len(syms); i++ {
		push(int32(i-1), int32(i))
	}
	for len(h) > 0 {
		p := h[0]
		h[0] = h[len(h)-1]
		h = h[:len(h)-1]
		siftDown(h, 0, spmLess)
		l, r := &syms[p.left], &syms[p.right]
		if l.n == 0 || r.n == 0 || l.n+r.n != p.size {
			continue // stale
		}
		l.n += r.n
		r.n = 0
		l.next = r.next
		if r.next >= 0 {
			syms[r.next].prev = p.left
		}
		push(l.prev, p.left)
		push(p.left, l.next)
	}
	for i := int32(0); i >= 0; i = syms[i].next {
		s := syms[i]
		piece := text[s.start : s.start+s.n]
		if id, ok := m.pieces[piece]; ok {
			out = append(out, id)
			continue
		}
		out = m.bytes(piece, out)
	}
	st.syms, st.heap = syms, h
	return out
}

// bytes writes piece as byte tokens, or as one unknown token when the
// vocabulary lacks a byte token it needs.
func (m *spmModel) bytes(piece string, out []int32) []int32 {
	for j := 0; j < len(piece); j++ {
		if m.byteTok[piece[j]] < 0 {
			if m.unk >= 0 {
				out = append(out, m.unk)
			}
			return out
		}
	}
	for j := 0; j < len(piece); j++ {
		out = append(out, m.byteTok[piece[j]])
	}
	return out
}
