package tokenizer

import (
	"strings"
	"unicode/utf8"
)

// Decode writes the text of ids: byte-level tokens become their bytes, "▁"
// becomes a space and <0xHH> its byte (SentencePiece), user-defined tokens
// their text; control tokens and ids out of range write nothing. The result
// is the exact byte sequence, so it can hold invalid UTF-8 when the ids do
// (e.g. a sequence cut in the middle of a character).
//
// Nothing is stripped: for a SentencePiece vocabulary the dummy prefix that
// Encode adds comes back as a leading space, so Decode(Encode(x)) is " "+x.
func (t *Tokenizer) Decode(ids []int32) string {
	n := 0
	for _, id := range ids {
		n += len(t.Piece(id))
	}
	var b strings.Builder
	b.Grow(n)
	for _, id := range ids {
		b.WriteString(t.Piece(id))
	}
	return b.String()
}

// StreamDecoder turns tokens into text one at a time, as they are generated,
// without ever splitting a UTF-8 character: bytes of a character that is not
// complete yet are held back until the tokens that complete it arrive. Its
// output is always valid UTF-8; bytes that can never form a character are
// written as U+FFFD, one per byte. The concatenation of everything Add and
// Flush return equals Decode of the same ids with invalid bytes so replaced.
//
// A StreamDecoder belongs to one stream and is not safe for concurrent use;
// the Tokenizer it came from is.
type StreamDecoder struct {
	t       *Tokenizer
	pending []byte
}

// NewStreamDecoder starts a stream.
func (t *Tokenizer) NewStreamDecoder() *StreamDecoder { return &StreamDecoder{t: t} }

// Add appends one token and returns the text that is now complete.
func (d *StreamDecoder) Add(id int32) string {
	d.pending = append(d.pending, d.t.Piece(id)...)
	p := d.pending
	cut := len(p)
	// Hold back a trailing incomplete (but so far valid) character.
	for i := len(p) - 1; i >= 0 && i >= len(p)-utf8.UTFMax+1; i-- {
		if utf8.RuneStart(p[i]) {
			if !utf8.FullRune(p[i:]) {
				cut = i
			}
			break
		}
	}
	out := validText(p[:cut])
	d.pending = append(d.pending[:0], p[cut:]...)
	return out
}

// Flush ends the stream: a character still incomplete is written as U+FFFD
// per byte. The decoder is empty afterwards and can be reused.
func (d *StreamDecoder) Flush() string {
	out := validText(d.pending)
	d.pending = d.pending[:0]
	return out
}

// validText converts b to a string, replacing each byte that is not part of
// a valid UTF-8 character with U+FFFD.
func validText(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	var sb strings.Builder
	sb.Grow(len(b) + 8)
	for len(b) > 0 {
		r, w := utf8.DecodeRune(b)
		if r == utf8.RuneError && w == 1 {
			sb.WriteRune(utf8.RuneError)
		} else {
			sb.Write(b[:w])
		}
		b = b[w:]
	}
	return sb.String()
}
