package chat

import (
	"fmt"
	"strings"

	"github.com/ardanlabs/jinja"
)

// A chat template comes from the model file, so it is untrusted input. The
// engine has no step or depth limits of its own, and two things a template can
// ask for would take the whole process down rather than fail one render:
//
//   - a macro that calls itself without end grows the Go stack to its 1 GB
//     limit, which is a fatal error, not a recoverable panic;
//   - range(10**9) builds a billion-element list before the loop starts.
//
// This file bounds both, per render, the way Jinja2's sandbox (which Hugging
// Face's apply_chat_template uses) bounds range: a template that stays inside
// the limits renders exactly as before.

const (
	// MaxMacroDepth is how deeply macro calls may nest. Python's default
	// recursion limit stops Jinja2 at a few hundred levels; real templates
	// nest a handful (a JSON schema rendered recursively).
	MaxMacroDepth = 256
	// MaxRange is the most items one range() call may produce: Jinja2's
	// sandbox MAX_RANGE.
	MaxRange = 100_000
	// MaxRangeTotal bounds the items all range() calls of one render
	// produce together, so nested loops cannot multiply past it.
	MaxRangeTotal = 10 * MaxRange
)

// Names of the guard functions a render passes to the template. They are
// deliberately unlike anything a real template would define.
const (
	enterMacro = "__gpurun_enter_macro"
	leaveMacro = "__gpurun_leave_macro"
)

// guardMacros returns src with a call to enterMacro right after every
// {% macro %} tag and a call to leaveMacro right before every {% endmacro %}
// tag. The calls are expressions that print nothing; the engine applies
// lstrip_blocks, trim_blocks and "-" markers only to text segments and skips
// expressions when it looks for the text beside a tag, so the rendered
// whitespace is unchanged. Tags are found with the engine's own rules: {% %},
// {{ }} and {# #} delimiters, quotes respected inside {% %} and {{ }}. An
// unterminated tag ends the rewrite; Compile then reports it.
func guardMacros(src string) string {
	if !strings.Contains(src, "macro") {
		return src
	}
	var b strings.Builder
	b.Grow(len(src) + 64)
	i := 0
	for i < len(src) {
		open := strings.IndexByte(src[i:], '{')
		if open < 0 || i+open+1 >= len(src) {
			break
		}
		start := i + open
		var closer string
		switch src[start+1] {
		case '%':
			closer = "%}"
		case '{':
			closer = "}}"
		case '#':
			closer = "#}"
		default:
			b.WriteString(src[i : start+1])
			i = start + 1
			continue
		}
		end := tagEnd(src, start+2, closer, closer != "#}")
		if end < 0 {
			break
		}
		tag := src[start:end]
		word := ""
		if closer == "%}" {
			word = firstWord(tag)
		}
		switch word {
		case "macro":
			b.WriteString(src[i:end])
			b.WriteString("{{ " + enterMacro + "() }}")
		case "endmacro":
			b.WriteString(src[i:start])
			b.WriteString("{{ " + leaveMacro + "() }}")
			b.WriteString(tag)
		default:
			b.WriteString(src[i:end])
		}
		i = end
	}
	b.WriteString(src[i:])
	return b.String()
}

// tagEnd returns the index just past closer, scanning from i; quoted strings
// are skipped when quotes is set. It returns -1 when closer never comes.
func tagEnd(src string, i int, closer string, quotes bool) int {
	for i < len(src) {
		c := src[i]
		if quotes && (c == '\'' || c == '"') {
			i++
			for i < len(src) && src[i] != c {
				if src[i] == '\\' {
					i++
				}
				i++
			}
			i++
			continue
		}
		if strings.HasPrefix(src[i:], closer) {
			return i + len(closer)
		}
		i++
	}
	return -1
}

// firstWord is the statement keyword of a {% %} tag: "macro" for
// "{%- macro f(x) -%}".
func firstWord(tag string) string {
	s := strings.TrimPrefix(tag[2:len(tag)-2], "-")
	s = strings.TrimLeft(s, " \t\r\n")
	n := strings.IndexAny(s, " \t\r\n(-")
	if n < 0 {
		return s
	}
	return s[:n]
}

// guards holds the counters of one render.
type guards struct {
	depth int // macro calls now open
	items int // range() items produced so far
}

// values returns the guard functions for one render: the macro depth counter
// and a bounded range that shadows the engine's builtin.
func (g *guards) values() map[string]jinja.Value {
	return map[string]jinja.Value{
		enterMacro: jinja.NewCallable(enterMacro, func([]jinja.Value, map[string]jinja.Value) (jinja.Value, error) {
			g.depth++
			if g.depth > MaxMacroDepth {
				return jinja.Undefined(), fmt.Errorf("macros nest more than %d deep (runaway recursion?)", MaxMacroDepth)
			}
			return jinja.NewString(""), nil
		}),
		leaveMacro: jinja.NewCallable(leaveMacro, func([]jinja.Value, map[string]jinja.Value) (jinja.Value, error) {
			g.depth--
			return jinja.NewString(""), nil
		}),
		"range": jinja.NewCallable("range", g.rangeFn),
	}
}

// rangeFn is Python's range(stop) / range(start, stop[, step]) as a list,
// refused beyond MaxRange items per call or MaxRangeTotal per render.
func (g *guards) rangeFn(args []jinja.Value, _ map[string]jinja.Value) (jinja.Value, error) {
	var n [3]int64
	for i, a := range args {
		if i == len(n) {
			return jinja.Undefined(), fmt.Errorf("range: expected 1-3 arguments, got %d", len(args))
		}
		switch {
		case a.IsInt():
			n[i] = a.AsInt()
		case a.IsFloat():
			n[i] = int64(a.AsFloat())
		case a.IsBool():
			if a.AsBool() {
				n[i] = 1
			}
		default:
			return jinja.Undefined(), fmt.Errorf("range: argument %d is %s, not an integer", i+1, a.String())
		}
	}
	start, stop, step := int64(0), int64(0), int64(1)
	switch len(args) {
	case 0:
		return jinja.Undefined(), fmt.Errorf("range: expected 1-3 arguments, got 0")
	case 1:
		stop = n[0]
	case 2:
		start, stop = n[0], n[1]
	case 3:
		start, stop, step = n[0], n[1], n[2]
	}
	if step == 0 {
		return jinja.Undefined(), fmt.Errorf("range: step must not be zero")
	}
	count := rangeLen(start, stop, step)
	if count > MaxRange {
		return jinja.Undefined(), fmt.Errorf("range: %d items is more than the %d allowed", count, MaxRange)
	}
	if g.items += int(count); g.items > MaxRangeTotal {
		return jinja.Undefined(), fmt.Errorf("range: the template asked for more than %d items in all", MaxRangeTotal)
	}
	items := make([]jinja.Value, count)
	for k := range items {
		items[k] = jinja.NewInt(start + int64(k)*step)
	}
	return jinja.NewList(items), nil
}

// rangeLen is len(range(start, stop, step)) without overflow; step != 0.
func rangeLen(start, stop, step int64) uint64 {
	if step > 0 {
		if start >= stop {
			return 0
		}
		return (uint64(stop)-uint64(start)-1)/uint64(step) + 1
	}
	if start <= stop {
		return 0
	}
	return (uint64(start)-uint64(stop)-1)/(-uint64(step)) + 1
}
