package tokenizer

import (
	"fmt"
	"math"
	"strings"
)

// Byte-level BPE (tokenizer.ggml.model = "gpt2").
//
// Each piece from the pre-tokenizer is seen as a sequence of bytes, each byte
// written as its GPT-2 byte-level character. Adjacent symbols are merged
// following tokenizer.ggml.merges: always the pair with the lowest merge rank
// first, and among equal ranks the leftmost (llama.cpp and Hugging Face agree
// on this order). Symbols are integers: vocabulary ids, plus ids past the
// vocabulary for the rare merge parts or results that are not tokens
// themselves, so the merge loop never builds strings.

type bpeMerge struct {
	rank   int32
	result int32 // symbol of the merged pair
}

type bpeModel struct {
	nVocab  int32
	merges  pairTable  // pairKey(left, right) -> merge
	byteSym [256]int32 // symbol of each raw byte's byte-level character
	// asciiTok is the token of each printable ASCII byte written as itself;
	// used only for symbols that ended up outside the vocabulary, as llama.cpp
	// does (it emits the single-byte tokens it can find).
	asciiTok [128]int32
	// whole maps the raw bytes of every token to its id; set only for
	// pre-tokenizers that emit a piece whole when it is a token (Llama 3).
	whole map[string]int32
}

func pairKey(left, right int32) uint64 { return uint64(uint32(left))<<32 | uint64(uint32(right)) }

// newBPEModel builds the merge table. mergesKey names the metadata key in
// errors.
func newBPEModel(tokens []string, toID map[string]int32, merges []string, ignoreMerges bool, mergesKey string) (*bpeModel, error) {
	m := &bpeModel{nVocab: int32(len(tokens))}
	table := make(map[uint64]bpeMerge, len(merges))
	extraID := map[string]int32{}
	intern := func(text string) int32 {
		if id, ok := toID[text]; ok {
			return id
		}
		if id, ok := extraID[text]; ok {
			return id
		}
		id := m.nVocab + int32(len(extraID))
		extraID[text] = id
		return id
	}
	if len(merges) > math.MaxInt32 {
		return nil, fmt.Errorf("tokenizer: %s: %d merges is too many", mergesKey, len(merges))
	}
	for rank, line := range merges {
		// "left right"; the separator is the first space after the first byte,
		// as in llama.cpp.
		if len(line) < 3 {
			continue
		}
		sp := strings.IndexByte(line[1:], ' ')
		if sp < 0 {
			continue
		}
		left, right := line[:sp+1], line[sp+2:]
		if right == "" {
			continue
		}
		key := pairKey(intern(left), intern(right))
		if _, dup := table[key]; dup {
			continue // the first (lowest) rank wins
		}
		table[key] = bpeMerge{rank: int32(rank), result: intern(left + right)}
	}
	m.merges = newPairTable(table)
	for b := 0; b < 256; b++ {
		m.byteSym[b] = intern(string(byteToRune[b]))
	}
	for b := range m.asciiTok {
		m.asciiTok[b] = -1
		if byteToRune[b] == rune(b) {
			if id, ok := toID[string(rune(b))]; ok {
				m.asciiTok[b] = id
			}
		}
	}
	if ignoreMerges {
		m.whole = make(map[string]int32, len(tokens))
		for id, text := range tokens {
			if raw, ok := byteLevelDecodeExact(text); ok && len(raw) > 0 {
				m.whole[string(raw)] = int32(id)
			}
		}
	}
	return m, nil
}

// bpeScratch is per-call working storage.
type bpeScratch struct {
	syms    []int32
	lens    []int32
	ranks   []int32
	results []int32
	// linked-list form for long pieces
	prev, next []int32
	heap       []bpePair
}

type bpePair struct {
	rank        int32
	left, right int32 // symbol positions
	lsym, rsym  int32 // the symbols the pair was made of
	result      int32
}

// linearLimit is the piece length (in bytes) up to which the quadratic but
// allocation-free scan beats the heap.
const linearLimit = 48

// encodePiece appends the tokens of one pre-tokenized piece.
func (m *bpeModel) encodePiece(piece string, st *bpeScratch, out []int32) []int32 {
	if m.whole != nil {
		if id, ok := m.whole[piece]; ok {
			return append(out, id)
		}
	}
	if len(piece) == 1 {
		return m.emit(m.byteSym[piece[0]], piece, out)
	}
	if len(piece) <= linearLimit {
		return m.encodeLinear(piece, st, out)
	}
	return m.encodeHeap(piece, st, out)
}

func (m *bpeModel) lookup(left, right int32) (int32, int32) {
	if mg, ok := m.merges.get(pairKey(left, right)); ok {
		return mg.rank, mg.result
	}
	return math.MaxInt32, -1
}

// pairTable is a read-only open-addressing hash table from symbol pairs to
// merges; several times faster than a Go map for this one lookup that
// dominates BPE.
type pairTable struct {
	keys  []uint64
	vals  []bpeMerge
	shift uint8
}

// emptyPair marks a free slot; real keys have the top bit clear since
// symbols are below 2^31.
const emptyPair = ^uint64(0)

func newPairTable(m map[uint64]bpeMerge) pairTable {
	bits := uint8(4)
	for 1<<bits < 2*len(m) {
		bits++
	}
	t := pairTable{keys: make([]uint64, 1<<bits), vals: make([]bpeMerge, 1<<bits), shift: 64 - bits}
	for i := range t.keys {
		t.keys[i] = emptyPair
	}
	mask := uint64(len(t.keys) - 1)
	for k, v := range m {
		i := (k * 0x9E3779B97F4A7C15) >> t.shift
		for t.keys[i] != emptyPair {
			i = (i + 1) & mask
		}
		t.keys[i], t.vals[i] = k, v
	}
	return t
}

func (t *pairTable) get(k uint64) (bpeMerge, bool) {
	mask := uint64(len(t.keys) - 1)
	for i := (k * 0x9E3779B97F4A7C15) >> t.shift; ; i = (i + 1) & mask {
		switch t.keys[i] {
		case k:
			return t.vals[i], true
		case emptyPair:
			return bpeMerge{}, false
		}
	}
}

// emit appends the token for a final symbol covering raw bytes piece.
func (m *bpeModel) emit(sym int32, piece string, out []int32) []int32 {
	if sym < m.nVocab {
		return append(out, sym)
	}
	for i := 0; i < len(piece); i++ {
		if b := piece[i]; b < 128 && m.asciiTok[b] >= 0 {
			out = append(out, m.asciiTok[b])
		}
	}
	return out
}

func (m *bpeModel) encodeLinear(piece string, st *bpeScratch, out []int32) []int32 {
	n := len(piece)
	syms, lens := st.syms[:0], st.lens[:0]
	for i := 0; i < n; i++ {
		syms = append(syms, m.byteSym[piece[i]])
		lens = append(lens, 1)
	}
	ranks, results := st.ranks[:0], st.results[:0]
	for i := 0; i+1 < n; i++ {
		r, res := m.lookup(syms[i], syms[i+1])
		ranks = append(ranks, r)
		results = append(results, res)
	}
	for len(syms) > 1 {
		best, bestRank := -1, int32(math.MaxInt32)
		for i, r := range ranks {
			if r < bestRank {
				best, bestRank = i, r
			}
		}
		if best < 0 {
			break
		}
		syms[best] = results[best]
		lens[best] += lens[best+1]
		syms = append(syms[:best+1], syms[best+2:]...)
		lens = append(lens[:best+1], lens[best+2:]...)
		ranks = append(ranks[:best], ranks[best+1:]...)
		results = append(results[:best], results[best+1:]...)
		if best > 0 {
			ranks[best-1], results[best-1] = m.lookup(syms[best-1], syms[best])
		}
		if best+1 < len(syms) {
			ranks[best], results[best] = m.lookup(syms[best], syms[best+1])
		}
	}
	off := 0
	for i, s := range syms {
		out = m.emit(s, piece[off:off+int(lens[i])], out)
		off += int(lens[i])
	}
	st.syms, st.lens, st.ranks, st.results = syms, lens, ranks, results
	return out
}

// pairLess orders the merge queue: lowest rank first, then leftmost.
func pairLess(a, b *bpePair) bool {
	return a.rank < b.rank || (a.rank == b.rank && a.left < b.left)
}

func (m *bpeModel) encodeHeap(piece string, st *bpeScratch, out []int32) []int32 {
	n := len(piece)
	syms, lens, prev, next := st.syms[:0], st.lens[:0], st.prev[:0], st.next[:0]
	for i := 0; i < n; i++ {
		syms = append(syms, m.byteSym[piece[i]])
		lens = append(lens, 1)
		prev = append(prev, int32(i-1))
		nx := int32(i + 1)
		if i+1 == n {
			nx = -1
		}
		next = append(next, nx)
	}
	h := st.heap[:0]
	push := func(l, r int32) {
		if l < 0 || r < 0 {
			return
		}
		rank, res := m.lookup(syms[l], syms[r])
		if res < 0 {
			return
		}
		h = append(h, bpePair{rank: rank, left: l, right: r, lsym: syms[l], rsym: syms[r], result: res})
		siftUp(h, len(h)-1, pairLess)
	}
	for i := 1; i < n; i++ {
		push(int32(i-1), int32(i))
	}
	for len(h) > 0 {
		p := h[0]
		h[0] = h[len(h)-1]
		h = h[:len(h)-1]
		siftDown(h, 0, pairLess)
		l, r := p.left, p.right
		if lens[l] == 0 || lens[r] == 0 || syms[l] != p.lsym || syms[r] != p.rsym || next[l] != r {
			continue // stale: one side has changed since the pair was queued
		}
		syms[l] = p.result
		lens[l] += lens[r]
		lens[r] = 0
		next[l] = next[r]
		if next[r] >= 0 {
			prev[next[r]] = l
		}
		push(prev[l], l)
		push(l, next[l])
	}
	off := 0
	for i := int32(0); i >= 0 && int(i) < n; i = next[i] {
		out = m.emit(syms[i], piece[off:off+int(lens[i])], out)
		off += int(lens[i])
	}
	st.syms, st.lens, st.prev, st.next, st.heap = syms, lens, prev, next, h
	return out
}

// siftUp and siftDown maintain a binary min-heap under less.
func siftUp[T any](h []T, i int, less func(a, b *T) bool) {
	for i > 0 {
		p := (i - 1) / 2
		if !less(&h[i], &h[p]) {
			break
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
}

func siftDown[T any](h []T, i int, less func(a, b *T) bool) {
	n := len(h)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && less(&h[r], &h[l]) {
			m = r
		}
		if !less(&h[m], &h[i]) {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}
