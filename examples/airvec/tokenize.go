package main

// airvec tokenize: runs a tokenizer.json over JSONL input, writing the
// fields of the tokenizer goldens (../shared/tokenizers/golden/).

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/airvec/airvec/tokenizer"
)

func init() {
	register("tokenize", "tokenize JSONL {\"text\",\"pair\"} lines with a tokenizer.json", runTokenize)
}

type tokenizeIn struct {
	Text *string `json:"text"`
	Pair *string `json:"pair"`
}

type tokenizeOut struct {
	IDs               []int    `json:"ids"`
	Tokens            []string `json:"tokens"`
	TypeIDs           []int    `json:"type_ids"`
	AttentionMask     []int    `json:"attention_mask"`
	SpecialTokensMask []int    `json:"special_tokens_mask"`
	Offsets           [][2]int `json:"offsets"`
}

func runTokenize(args []string) int { return tokenizeMain(args, os.Stdin, os.Stdout) }

func tokenizeMain(args []string, stdin io.Reader, stdout io.Writer) int {
	fs := flag.NewFlagSet("tokenize", flag.ContinueOnError)
	file := fs.String("tokenizer", "", "tokenizer.json file (or a model directory holding one)")
	noSpecial := fs.Bool("no-special", false, "do not add special tokens")
	maxLen := fs.Int("max-length", 0, "truncate to this many tokens (0: no truncation)")
	strategy := fs.String("strategy", "longest_first", "truncation strategy: longest_first, only_first or only_second")
	pad := fs.String("pad", "", "pad: \"longest\" (the longest input) or a length N")
	padSide := fs.String("pad-side", "right", "padding side: left or right")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: airvec tokenize -tokenizer FILE [-no-special] [-max-length N [-strategy S]] [-pad longest|N [-pad-side left|right]] < in.jsonl > out.jsonl")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *file == "" || fs.NArg() > 0 {
		fs.Usage()
		return 2
	}
	tk, err := loadTokenizer(*file)
	if err != nil {
		return fail("", err)
	}
	tk, err = configureTokenizer(tk, *maxLen, *strategy, *pad, *padSide)
	if err != nil {
		return fail("", err)
	}
	inputs, err := readTokenizeInputs(stdin)
	if err != nil {
		return fail("", err)
	}
	encs, err := tk.EncodeBatch(inputs, !*noSpecial)
	if err != nil {
		return fail("", err)
	}
	w := bufio.NewWriterSize(stdout, 1<<16)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for _, e := range encs {
		out := tokenizeOut{IDs: e.IDs, Tokens: e.Tokens, TypeIDs: e.TypeIDs, AttentionMask: e.AttentionMask,
			SpecialTokensMask: e.SpecialTokensMask, Offsets: e.Offsets}
		if out.IDs == nil { // empty input: [] rather than null
			out = tokenizeOut{IDs: []int{}, Tokens: []string{}, TypeIDs: []int{}, AttentionMask: []int{}, SpecialTokensMask: []int{}, Offsets: [][2]int{}}
		}
		if err := enc.Encode(out); err != nil {
			return fail("", err)
		}
	}
	if err := w.Flush(); err != nil {
		return fail("", err)
	}
	return 0
}

// loadTokenizer accepts a tokenizer.json path or a directory holding one.
func loadTokenizer(path string) (*tokenizer.Tokenizer, error) {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		path += "/tokenizer.json"
	}
	return tokenizer.Load(path)
}

// configureTokenizer applies the CLI's truncation and padding: none unless
// asked, whatever the file says.
func configureTokenizer(tk *tokenizer.Tokenizer, maxLen int, strategy, pad, padSide string) (*tokenizer.Tokenizer, error) {
	tk = tk.WithoutTruncation().WithoutPadding()
	if maxLen < 0 {
		return nil, fmt.Errorf("tokenize: -max-length must be >= 0")
	}
	if maxLen > 0 {
		t := tokenizer.Truncation{MaxLength: maxLen}
		switch strategy {
		case "longest_first":
		case "only_first":
			t.Strategy = tokenizer.OnlyFirst
		case "only_second":
			t.Strategy = tokenizer.OnlySecond
		default:
			return nil, fmt.Errorf("tokenize: unknown -strategy %q (longest_first, only_first, only_second)", strategy)
		}
		tk = tk.WithTruncation(t)
	}
	if pad != "" {
		p := tokenizer.Padding{}
		if pad != "longest" {
			n, err := strconv.Atoi(pad)
			if err != nil || n <= 0 {
				return nil, fmt.Errorf("tokenize: -pad must be \"longest\" or a positive length, got %q", pad)
			}
			p.Length = n
		}
		switch padSide {
		case "right":
		case "left":
			p.Direction = tokenizer.Left
		default:
			return nil, fmt.Errorf("tokenize: unknown -pad-side %q (left, right)", padSide)
		}
		// The pad token: the file's, else the first of [PAD], <pad>,
		// <|endoftext|> in the vocabulary (as the goldens do).
		if fp := tk.Padding(); fp != nil && fp.PadToken != "" {
			p.PadToken, p.PadID, p.PadTypeID = fp.PadToken, fp.PadID, fp.PadTypeID
		} else {
			found := false
			for _, s := range []string{"[PAD]", "<pad>", "<|endoftext|>"} {
				if id, ok := tk.TokenToID(s); ok {
					p.PadToken, p.PadID, found = s, id, true
					break
				}
			}
			if !found {
				return nil, errors.New("tokenize: no pad token ([PAD], <pad>, <|endoftext|>) in the vocabulary")
			}
		}
		tk = tk.WithPadding(p)
	}
	return tk, nil
}

func readTokenizeInputs(r io.Reader) ([]tokenizer.Input, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<30)
	var inputs []tokenizer.Input
	line := 0
	for sc.Scan() {
		line++
		b := sc.Bytes()
		if len(b) == 0 {
			continue
		}
		var in tokenizeIn
		if err := json.Unmarshal(b, &in); err != nil {
			return nil, fmt.Errorf("tokenize: input line %d: %v", line, err)
		}
		if in.Text == nil {
			return nil, fmt.Errorf("tokenize: input line %d: missing \"text\"", line)
		}
		x := tokenizer.Input{Text: *in.Text}
		if in.Pair != nil {
			x.Pair, x.HasPair = *in.Pair, true
		}
		inputs = append(inputs, x)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("tokenize: reading input: %v", err)
	}
	return inputs, nil
}
