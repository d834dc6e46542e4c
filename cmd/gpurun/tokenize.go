package main

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/urfave/cli/v2"

	"gpurun/runtime/gguf"
	"gpurun/tokenizer"
)

func tokenizeCommand() *cli.Command {
	return &cli.Command{
		Name:      "tokenize",
		Usage:     "show the token ids a model's tokenizer makes of a text",
		ArgsUsage: "[TEXT]",
		Description: "Tokenizes TEXT, or standard input when no TEXT is given (taken as is: a final newline\n" +
			"is part of the text), exactly as the model sees it, and prints one token per line:\n" +
			"the id, a tab, and the token's string in the vocabulary (\"Ġthe\", \"▁the\", \"<0x0A>\";\n" +
			"control characters in it are written as Go escapes such as \\n). Only the tokenizer\n" +
			"metadata is read; the weights are not touched.\n\n" +
			"Examples:\n" +
			"  gpurun tokenize \"Hello, world!\"\n" +
			"  gpurun tokenize -m model.gguf --ids \"Hello, world!\"\n" +
			"  gpurun tokenize --special $'<|im_start|>user\\nHi<|im_end|>\\n'\n" +
			"  cat prompt.txt | gpurun tokenize --ids --no-bos",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "model", Aliases: []string{"m"}, EnvVars: []string{"GPURUN_MODEL"},
				Usage: "GGUF model file (default: $GPURUN_MODEL, else " + DefaultModel + ")"},
			&cli.BoolFlag{Name: "ids", Usage: "print only the ids, separated by single spaces, on one line"},
			&cli.BoolFlag{Name: "no-bos", Usage: "leave out the BOS token the model would add"},
			&cli.BoolFlag{Name: "special", Usage: "parse special tokens written in the text (such as <|im_start|>) as those tokens"},
		},
		Action: runTokenize,
	}
}

func runTokenize(c *cli.Context) error {
	if c.NArg() > 1 {
		return usagef("tokenize takes at most one TEXT argument (got %d); quote the text, or pipe it on standard input", c.NArg())
	}
	path, err := modelPath(c.String("model"))
	if err != nil {
		return err
	}
	var text string
	if c.NArg() == 1 {
		text = c.Args().First()
	} else {
		b, err := io.ReadAll(c.App.Reader)
		if err != nil {
			return fmt.Errorf("reading standard input: %w", err)
		}
		text = string(b)
	}
	f, err := gguf.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	tok, err := tokenizer.FromGGUF(f)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}

	opt := tokenizer.EncodeOptions{AddSpecial: !c.Bool("no-bos"), ParseSpecial: c.Bool("special")}
	ids := tok.Encode(text, opt)
	if c.Bool("no-bos") && tok.AddEOS() {
		ids = append(ids, tok.EOS()) // --no-bos drops only the BOS
	}

	w := bufio.NewWriter(c.App.Writer)
	if c.Bool("ids") {
		for i, id := range ids {
			if i > 0 {
				w.WriteByte(' ')
			}
			w.WriteString(strconv.Itoa(int(id)))
		}
		w.WriteByte('\n')
	} else {
		for _, id := range ids {
			fmt.Fprintf(w, "%d\t%s\n", id, escapeControl(tok.TokenText(id)))
		}
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("writing output: %w", err)
	}
	return nil
}

// escapeControl writes control characters and invalid UTF-8 bytes as Go
// escapes so that every token stays on its own line.
func escapeControl(s string) string {
	clean := true
	for _, r := range s {
		if r == utf8.RuneError || unicode.IsControl(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, w := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && w == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case unicode.IsControl(r) && r < 0x100:
			fmt.Fprintf(&b, `\x%02x`, r)
		case unicode.IsControl(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+w])
		}
		i += w
	}
	return b.String()
}
