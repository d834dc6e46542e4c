package tokenizer

import (
	"sort"
	"unicode"
	"unicode/utf8"
)

// charClass is how the pre-tokenizer patterns see one code point.
type charClass uint8

const (
	classEnd    charClass = iota // past the end of the fragment
	classOther                   // [^\s\p{L}\p{N}]; also an invalid UTF-8 byte
	classLetter                  // \p{L}
	classNumber                  // \p{N}
	classSpace                   // \s (Unicode White_Space)
)

// asciiClass is the class of every ASCII byte, precomputed (read-only).
var asciiClass = func() (t [utf8.RuneSelf]charClass) {
	for i := range t {
		t[i] = classifyRune(rune(i))
	}
	return t
}()

func classifyRune(r rune) charClass {
	switch {
	case unicode.IsLetter(r):
		return classLetter
	case unicode.IsNumber(r):
		return classNumber
	case unicode.IsSpace(r):
		return classSpace
	}
	return classOther
}

// classAt returns the class and byte width of the code point at s[i:end].
// An invalid UTF-8 byte counts as one code point of class classOther, so
// every byte of the input lands in exactly one piece.
func classAt(s string, i, end int) (charClass, int) {
	if i >= end {
		return classEnd, 0
	}
	if b := s[i]; b < utf8.RuneSelf {
		return asciiClass[b], 1
	}
	r, w := utf8.DecodeRuneInString(s[i:end])
	if r == utf8.RuneError && w <= 1 {
		return classOther, 1
	}
	return classifyRune(r), w
}

// runeAt decodes the code point at s[i:end]; invalid bytes give
// utf8.RuneError with width 1.
func runeAt(s string, i, end int) (rune, int) {
	if i >= end {
		return -1, 0
	}
	if b := s[i]; b < utf8.RuneSelf {
		return rune(b), 1
	}
	r, w := utf8.DecodeRuneInString(s[i:end])
	if w == 0 {
		w = 1
	}
	return r, w
}

// runeSet is a set of code points: sorted inclusive ranges, with a bitmap
// for ASCII.
type runeSet struct {
	ranges []runeRange
	ascii  [2]uint64
}

type runeRange struct{ lo, hi rune }

// parseRuneSet reads the body of a regex character class made only of
// literal characters and a-b ranges (no escapes), as the DeepSeek
// pre-tokenizer patterns are written.
func parseRuneSet(spec string) *runeSet {
	rs := []rune(spec)
	set := &runeSet{}
	for i := 0; i < len(rs); i++ {
		lo, hi := rs[i], rs[i]
		if i+2 < len(rs) && rs[i+1] == '-' {
			hi = rs[i+2]
			i += 2
		}
		set.ranges = append(set.ranges, runeRange{lo, hi})
		for r := lo; r <= hi && r < utf8.RuneSelf; r++ {
			set.ascii[r/64] |= 1 << (r % 64)
		}
	}
	sort.Slice(set.ranges, func(a, b int) bool { return set.ranges[a].lo < set.ranges[b].lo })
	return set
}

func (s *runeSet) contains(r rune) bool {
	if r < utf8.RuneSelf {
		return r >= 0 && s.ascii[r/64]&(1<<(r%64)) != 0
	}
	rs := s.ranges
	i := sort.Search(len(rs), func(i int) bool { return rs[i].hi >= r })
	return i < len(rs) && rs[i].lo <= r
}

// byteToRune is GPT-2's byte-to-unicode map: printable bytes stand for
// themselves, the others are moved to U+0100 and up, so every byte sequence
// becomes a printable string.
var byteToRune, runeToByte = func() (b2r [256]rune, r2b map[rune]byte) {
	printable := func(b int) bool {
		return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF)
	}
	r2b = make(map[rune]byte, 256)
	n := 0
	for b := 0; b < 256; b++ {
		if printable(b) {
			b2r[b] = rune(b)
		} else {
			b2r[b] = rune(256 + n)
			n++
		}
		r2b[b2r[b]] = byte(b)
	}
	return b2r, r2b
}()

// byteLevelDecode maps a byte-level token string back to raw bytes. A code
// point outside the map (which a well-formed vocabulary never has) is kept as
// its UTF-8 encoding.
func byteLevelDecode(s string) []byte {
	out := make([]byte, 0, len(s))
	for _, r := range s {
		if b, ok := runeToByte[r]; ok {
			out = append(out, b)
		} else {
			out = utf8.AppendRune(out, r)
		}
	}
	return out
}

// byteLevelDecodeExact is byteLevelDecode that reports whether every code
// point was in the map.
func byteLevelDecodeExact(s string) ([]byte, bool) {
	out := make([]byte, 0, len(s))
	for _, r := range s {
		b, ok := runeToByte[r]
		if !ok {
			return nil, false
		}
		out = append(out, b)
	}
	return out, true
}
