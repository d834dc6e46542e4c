package tokenizer

import (
	"sort"
	"strings"
)

// Special-token partitioning: before the text reaches the pre-tokenizer,
// occurrences of special tokens are cut out and become those tokens. As in
// llama.cpp (tokenizer_st_partition) the candidates are the control,
// user-defined and unknown tokens, tried longest first; each one splits every
// remaining stretch of text at its leftmost occurrences. Control and unknown
// tokens take part only when the caller asks to parse special tokens;
// user-defined tokens always do (Hugging Face tokenizers matches added tokens
// in any text, which MPT's space runs and DeepSeek's byte tokens rely on).

type special struct {
	id     int32
	text   string
	parse  bool // needs ParseSpecial (control or unknown)
	lstrip bool
	rstrip bool
}

// fragment is a stretch of the input: raw text s[start:end] when tok < 0,
// otherwise the special token tok.
type fragment struct {
	start, end int
	tok        int32
}

// buildSpecials fills the candidate list and the tries used to find which
// candidates occur in a text. name is general.name: llama.cpp strips the
// whitespace after Phi-3's special tokens, keyed on the model name.
func (t *Tokenizer) buildSpecials(name string) {
	var ids []int32
	for i, a := range t.attrs {
		if a&(attrControl|attrUserDefined|attrUnknown) != 0 && t.tokens[i] != "" {
			ids = append(ids, int32(i))
		}
	}
	lname := strings.ToLower(name)
	switch {
	case strings.Contains(t.preName, "jina-v2-de") || strings.Contains(t.preName, "jina-v2-es") || strings.Contains(t.preName, "jina-v2-code"):
		if i, ok := t.toID["<mask>"]; ok {
			t.attrs[i] |= attrLStrip
		}
	case strings.Contains(lname, "phi-3") || strings.Contains(lname, "phi3"):
		for _, i := range ids {
			t.attrs[i] |= attrRStrip
		}
		if i, ok := t.toID["</s>"]; ok {
			t.attrs[i] |= attrRStrip
		}
		for _, s := range []string{"<unk>", "<s>", "<|endoftext|>"} {
			if i, ok := t.toID[s]; ok {
				t.attrs[i] &^= attrRStrip
			}
		}
	}
	sort.SliceStable(ids, func(a, b int) bool { return len(t.tokens[ids[a]]) > len(t.tokens[ids[b]]) })
	t.specials = make([]special, len(ids))
	t.trieAll = newSpecialTrie()
	for k, i := range ids {
		a := t.attrs[i]
		sp := special{id: i, text: t.tokens[i], parse: a&(attrControl|attrUnknown) != 0,
			lstrip: a&attrLStrip != 0, rstrip: a&attrRStrip != 0}
		t.specials[k] = sp
		t.trieAll.insert(sp.text, int32(k))
		if !sp.parse {
			if t.trieUser == nil {
				t.trieUser = newSpecialTrie()
			}
			t.trieUser.insert(sp.text, int32(k))
		}
	}
}

// partition splits text into raw fragments and special tokens.
func (t *Tokenizer) partition(text string, parseSpecial bool, frags []fragment) []fragment {
	if text == "" {
		return frags
	}
	frags = append(frags, fragment{0, len(text), -1})
	trie := t.trieUser
	if parseSpecial {
		trie = t.trieAll
	}
	if trie == nil {
		return frags
	}
	present := trie.present(text, len(t.specials))
	if present == nil {
		return frags
	}
	var next []fragment
	for k, ok := range present {
		if !ok {
			continue
		}
		sp := &t.specials[k]
		next = next[:0]
		for _, fr := range frags {
			if fr.tok >= 0 {
				next = append(next, fr)
				continue
			}
			start, end := fr.start, fr.end
			for start < end {
				i := strings.Index(text[start:end], sp.text)
				if i < 0 {
					break
				}
				m := start + i
				le := m
				if sp.lstrip {
					for le > start && isCSpace(text[le-1]) {
						le--
					}
				}
				if le > start {
					next = append(next, fragment{start, le, -1})
				}
				next = append(next, fragment{m, m + len(sp.text), sp.id})
				start = m + len(sp.text)
				if sp.rstrip {
					for start < end && isCSpace(text[start]) {
						start++
					}
				}
			}
			if start < end {
				next = append(next, fragment{start, end, -1})
			}
		}
		frags, next = next, frags
	}
	return frags
}

// isCSpace is C's isspace in the "C" locale.
func isCSpace(b byte) bool {
	return b == ' ' || (b >= '\t' && b <= '\r')
}

// specialTrie finds which special tokens occur in a text in one pass.
type specialTrie struct {
	root  [256]int32 // node of each first byte, 0 when none
	nodes []trieNode // nodes[0] is unused
}

type trieNode struct {
	tok   int32 // index into Tokenizer.specials, or -1
	edges []trieEdge
}

type trieEdge struct {
	b    byte
	node int32
}

func newSpecialTrie() *specialTrie { return &specialTrie{nodes: make([]trieNode, 1)} }

func (tr *specialTrie) insert(s string, tok int32) {
	child := func(parent int32, b byte) int32 {
		if parent < 0 {
			if tr.root[b] == 0 {
				tr.nodes = append(tr.nodes, trieNode{tok: -1})
				tr.root[b] = int32(len(tr.nodes) - 1)
			}
			return tr.root[b]
		}
		for _, e := range tr.nodes[parent].edges {
			if e.b == b {
				return e.node
			}
		}
		tr.nodes = append(tr.nodes, trieNode{tok: -1})
		n := int32(len(tr.nodes) - 1)
		tr.nodes[parent].edges = append(tr.nodes[parent].edges, trieEdge{b, n})
		return n
	}
	node := int32(-1)
	for i := 0; i < len(s); i++ {
		node = child(node, s[i])
	}
	if tr.nodes[node].tok < 0 || tok < tr.nodes[node].tok {
		tr.nodes[node].tok = tok
	}
}

// present marks the tokens that occur somewhere in text; nil when none does.
func (tr *specialTrie) present(text string, n int) []bool {
	var seen []bool
	for i := 0; i < len(text); i++ {
		node := tr.root[text[i]]
		for j := i + 1; node != 0; j++ {
			if k := tr.nodes[node].tok; k >= 0 {
				if seen == nil {
					seen = make([]bool, n)
				}
				seen[k] = true
			}
			if j >= len(text) {
				break
			}
			next := int32(0)
			for _, e := range tr.nodes[node].edges {
				if e.b == text[j] {
					next = e.node
					break
				}
			}
			node = next
		}
	}
	return seen
}
