package tokenizer

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"testing"

	"github.com/airvec/airvec/internal/testdata"
)

// TestModelManifests cross-checks every fixture model's tokenizer.json
// against the ids recorded in its golden manifest (golden/<model>.json).
func TestModelManifests(t *testing.T) {
	root := testdata.Dir(t)
	files, _ := filepath.Glob(filepath.Join(root, "golden", "*.json"))
	sort.Strings(files)
	if len(files) == 0 {
		t.Skip("no manifests")
	}
	type enc struct {
		IDs    []int    `json:"ids"`
		Tokens []string `json:"tokens"`
	}
	for _, f := range files {
		name := filepath.Base(f[:len(f)-len(".json")])
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var m struct {
				ModelDir       string          `json:"model_dir"`
				Texts          []string        `json:"texts"`
				TextsFed       []string        `json:"texts_fed"`
				Pairs          [][2]string     `json:"pairs"`
				Encodings      []enc           `json:"encodings"`
				MaxLength      int             `json:"max_length"`
				Queries        json.RawMessage `json:"queries"`
				QueryEncodings []enc           `json:"query_encodings"`
				TruncationCase *struct {
					TextIndex *int  `json:"text_index"`
					PairIndex *int  `json:"pair_index"`
					MaxLength int   `json:"max_length"`
					IDs       []int `json:"ids"`
				} `json:"truncation_case"`
				Cases map[string]struct {
					Prompts   []string `json:"prompt_strings_expanded"`
					Encodings []enc    `json:"encodings"`
				} `json:"cases"`
			}
			if err := json.Unmarshal(raw, &m); err != nil {
				t.Fatal(err)
			}
			tkPath := filepath.Join(root, m.ModelDir, "tokenizer.json")
			if _, err := os.Stat(tkPath); err != nil {
				t.Skipf("%s has no tokenizer.json (SentencePiece model: covered by the GLM tests)", m.ModelDir)
			}
			tk, err := loadCached(tkPath)
			if err != nil {
				t.Fatal(err)
			}
			tk = tk.WithoutPadding().WithoutTruncation()
			checked := 0
			check := func(what string, got *Encoding, err error, want enc) {
				t.Helper()
				checked++
				if err != nil {
					t.Errorf("%s: %v", what, err)
					return
				}
				if !reflect.DeepEqual(got.IDs, want.IDs) || (want.Tokens != nil && !reflect.DeepEqual(got.Tokens, want.Tokens)) {
					t.Errorf("%s:\n want %v %q\n got  %v %q", what, want.IDs, want.Tokens, got.IDs, got.Tokens)
				}
			}
			texts := m.Texts
			if m.TextsFed != nil {
				texts = m.TextsFed
			}
			enc1 := tk
			if name == "clip-mini" {
				enc1 = tk.WithTruncation(Truncation{MaxLength: m.MaxLength})
			}
			for i, e := range m.Encodings {
				switch {
				case i < len(m.Pairs):
					got, err := enc1.EncodePair(m.Pairs[i][0], m.Pairs[i][1], true)
					check("pair "+m.Pairs[i][0], got, err, e)
				case i < len(texts):
					got, err := enc1.Encode(texts[i], true)
					check("text "+texts[i], got, err, e)
				}
			}
			for k, c := range m.Cases {
				for i, e := range c.Encodings {
					if i < len(c.Prompts) {
						got, err := tk.Encode(c.Prompts[i], true)
						check(k+" "+c.Prompts[i], got, err, e)
					}
				}
			}
			if len(m.QueryEncodings) > 0 {
				var qs []string
				if err := json.Unmarshal(m.Queries, &qs); err != nil {
					t.Fatal(err)
				}
				for i, e := range m.QueryEncodings {
					got, err := tk.Encode(qs[i], true)
					check("query "+qs[i], got, err, e)
				}
			}
			if tc := m.TruncationCase; tc != nil {
				tt := tk.WithTruncation(Truncation{MaxLength: tc.MaxLength})
				var got *Encoding
				var err error
				switch {
				case tc.PairIndex != nil:
					got, err = tt.EncodePair(m.Pairs[*tc.PairIndex][0], m.Pairs[*tc.PairIndex][1], true)
				case tc.TextIndex != nil:
					got, err = tt.Encode(texts[*tc.TextIndex], true)
				}
				if got != nil || err != nil {
					check("truncation_case", got, err, enc{IDs: tc.IDs})
				}
			}
			if checked == 0 {
				t.Fatalf("nothing checked in %s", name)
			}
			t.Logf("%s: %d encodings match", name, checked)
		})
	}
}
