package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/airvec/airvec/internal/testdata"
)

// TestTokenizeCLI runs `airvec tokenize` over golden corpora and compares
// every output line with the HF goldens.
func TestTokenizeCLI(t *testing.T) {
	for _, c := range []struct{ golden, file string }{
		{"bert-base-uncased", "tokenizers/bert-base-uncased.json"},
		{"qwen3", "models/qwen3-mini-embed/tokenizer.json"},
		{"t5", "tokenizers/t5.json"},
	} {
		t.Run(c.golden, func(t *testing.T) {
			tkFile := testdata.Path(t, c.file)
			f, err := os.Open(testdata.Path(t, "tokenizers/golden/"+c.golden+".jsonl.gz"))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			zr, err := gzip.NewReader(f)
			if err != nil {
				t.Fatal(err)
			}
			sc := bufio.NewScanner(zr)
			sc.Buffer(nil, 1<<26)
			sc.Scan() // _meta
			var in bytes.Buffer
			var wants []map[string]json.RawMessage
			for sc.Scan() {
				var r struct {
					Text        string                     `json:"text"`
					Pair        *string                    `json:"pair"`
					WithSpecial json.RawMessage            `json:"with_special"`
					NoSpecial   json.RawMessage            `json:"no_special"`
					Trunc       map[string]json.RawMessage `json:"trunc"`
				}
				if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
					t.Fatal(err)
				}
				line, _ := json.Marshal(map[string]any{"text": r.Text, "pair": r.Pair})
				if r.Pair == nil {
					line, _ = json.Marshal(map[string]any{"text": r.Text})
				}
				in.Write(append(line, '\n'))
				wants = append(wants, map[string]json.RawMessage{"": r.WithSpecial, "-no-special": r.NoSpecial, "-max-length": r.Trunc["longest_first_16"]})
			}
			for _, mode := range []string{"", "-no-special", "-max-length"} {
				args := []string{"-tokenizer", tkFile}
				switch mode {
				case "-no-special":
					args = append(args, "-no-special")
				case "-max-length":
					args = append(args, "-max-length", "16")
				}
				var out bytes.Buffer
				if rc := tokenizeMain(args, bytes.NewReader(in.Bytes()), &out); rc != 0 {
					t.Fatalf("%v: exit %d: %s", args, rc, out.String())
				}
				lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
				if len(lines) != len(wants) {
					t.Fatalf("%v: %d output lines, want %d", args, len(lines), len(wants))
				}
				bad := 0
				for i, l := range lines {
					var got, want map[string]any
					if err := json.Unmarshal([]byte(l), &got); err != nil {
						t.Fatal(err)
					}
					if err := json.Unmarshal(wants[i][mode], &want); err != nil {
						t.Fatal(err)
					}
					if _, isErr := want["error"]; isErr {
						continue
					}
					for _, k := range []string{"ids", "tokens", "type_ids", "attention_mask", "special_tokens_mask", "offsets"} {
						g, _ := json.Marshal(got[k])
						w, _ := json.Marshal(want[k])
						if string(g) != string(w) {
							bad++
							if bad <= 3 {
								t.Errorf("%v line %d %s:\n want %s\n got  %s", args, i+1, k, w, g)
							}
						}
					}
				}
				t.Logf("%s %q: %d lines, %d mismatches", c.golden, mode, len(lines), bad)
			}
		})
	}
}

func TestTokenizeCLIErrors(t *testing.T) {
	tkFile := testdata.Path(t, "tokenizers/bert-base-uncased.json")
	for _, c := range []struct {
		args []string
		in   string
	}{
		{[]string{"-tokenizer", tkFile}, "{not json}\n"},
		{[]string{"-tokenizer", tkFile}, "{\"pair\":\"x\"}\n"},
		{[]string{"-tokenizer", tkFile, "-pad", "zero"}, "{\"text\":\"x\"}\n"},
		{[]string{"-tokenizer", tkFile, "-max-length", "4", "-strategy", "only_second"}, "{\"text\":\"a b c d e f\"}\n"},
		{[]string{"-tokenizer", "/nonexistent/tokenizer.json"}, ""},
	} {
		var out bytes.Buffer
		if rc := tokenizeMain(c.args, strings.NewReader(c.in), &out); rc == 0 {
			t.Errorf("%v %q: exit 0, want an error", c.args, c.in)
		}
	}
	// Padding to the longest input, left side.
	var out bytes.Buffer
	rc := tokenizeMain([]string{"-tokenizer", tkFile, "-pad", "longest", "-pad-side", "left"}, strings.NewReader("{\"text\":\"a\"}\n{\"text\":\"a b c\"}\n"), &out)
	if rc != 0 {
		t.Fatalf("exit %d", rc)
	}
	want := `{"ids":[0,0,101,1037,102],"tokens":["[PAD]","[PAD]","[CLS]","a","[SEP]"],"type_ids":[0,0,0,0,0],"attention_mask":[0,0,1,1,1],"special_tokens_mask":[1,1,1,0,1],"offsets":[[0,0],[0,0],[0,0],[0,1],[0,0]]}
{"ids":[101,1037,1038,1039,102],"tokens":["[CLS]","a","b","c","[SEP]"],"type_ids":[0,0,0,0,0],"attention_mask":[1,1,1,1,1],"special_tokens_mask":[1,0,0,0,1],"offsets":[[0,0],[0,1],[2,3],[4,5],[0,0]]}
`
	if out.String() != want {
		t.Errorf("pad longest left:\n got  %s\n want %s", out.String(), want)
	}
}
