package tokenizer

import (
	"testing"
	"unicode/utf8"

	"github.com/airvec/airvec/internal/testdata"
)

func init() { catchPanics = false } // tests must see panics

// Small tokenizer.json files covering every component, used as fuzz seeds
// and in TestSmallConfigs.
var smallConfigs = []string{
	`{"normalizer":{"type":"BertNormalizer","lowercase":true},"pre_tokenizer":{"type":"BertPreTokenizer"},
	  "model":{"type":"WordPiece","unk_token":"[UNK]","vocab":{"[UNK]":0,"[CLS]":1,"[SEP]":2,"a":3,"##b":4,"b":5,"[PAD]":6}},
	  "post_processor":{"type":"BertProcessing","sep":["[SEP]",2],"cls":["[CLS]",1]},
	  "decoder":{"type":"WordPiece"},
	  "added_tokens":[{"id":1,"content":"[CLS]","special":true},{"id":6,"content":"[PAD]","special":true,"lstrip":true,"rstrip":true}],
	  "truncation":{"max_length":5,"strategy":"LongestFirst","stride":0},"padding":{"strategy":{"Fixed":8},"pad_id":6,"pad_token":"[PAD]"}}`,
	`{"normalizer":{"type":"Sequence","normalizers":[{"type":"NFKD"},{"type":"StripAccents"},{"type":"Lowercase"},{"type":"Strip","strip_left":true,"strip_right":true},{"type":"Replace","pattern":{"String":"x"},"content":"yy"},{"type":"Prepend","prepend":"_"},{"type":"NFC"}]},
	  "pre_tokenizer":{"type":"Sequence","pretokenizers":[{"type":"Whitespace"},{"type":"Punctuation","behavior":"Isolated"},{"type":"Digits","individual_digits":true},{"type":"Metaspace","replacement":"_","prepend_scheme":"first","split":true}]},
	  "model":{"type":"Unigram","unk_id":0,"byte_fallback":true,"vocab":[["<unk>",0],["_",-1],["a",-2],["_a",-1.5],["<0x41>",-5],["<0xC3>",-5],["<0xA9>",-5]]},
	  "post_processor":{"type":"TemplateProcessing","single":[{"Sequence":{"id":"A","type_id":0}},{"SpecialToken":{"id":"<unk>","type_id":0}}],"pair":[{"Sequence":{"id":"A","type_id":0}},{"Sequence":{"id":"B","type_id":1}}],"special_tokens":{"<unk>":{"id":"<unk>","ids":[0],"tokens":["<unk>"]}}},
	  "decoder":{"type":"Sequence","decoders":[{"type":"Replace","pattern":{"String":"_"},"content":" "},{"type":"ByteFallback"},{"type":"Fuse"},{"type":"Strip","content":" ","start":1,"stop":0}]}}`,
	`{"normalizer":{"type":"NFC"},"pre_tokenizer":{"type":"Sequence","pretokenizers":[{"type":"Split","pattern":{"Regex":"\\s+(?!\\S)|\\d{1,3}| ?\\w+"},"behavior":"MergedWithPrevious","invert":false},{"type":"ByteLevel","add_prefix_space":true,"use_regex":true}]},
	  "model":{"type":"BPE","unk_token":"<unk>","fuse_unk":true,"end_of_word_suffix":"</w>","vocab":{"<unk>":0,"a":1,"b":2,"ab":3,"a</w>":4,"b</w>":5,"ab</w>":6,"Ġ":7,"Ġa":8},"merges":["a b","a b</w>",["Ġ","a"]]},
	  "post_processor":{"type":"Sequence","processors":[{"type":"ByteLevel","trim_offsets":true},{"type":"RobertaProcessing","sep":["b",2],"cls":["a",1]}]},
	  "decoder":{"type":"ByteLevel"},"added_tokens":[{"id":3,"content":"ab","single_word":true,"normalized":true}]}`,
	`{"pre_tokenizer":{"type":"Metaspace","replacement":"▁","add_prefix_space":true},
	  "model":{"type":"BPE","byte_fallback":true,"fuse_unk":true,"unk_token":"<unk>","continuing_subword_prefix":"##","vocab":{"<unk>":0,"<0x41>":1,"<0xE2>":2,"<0x96>":3,"<0x81>":4,"▁":5,"a":6,"##a":7,"▁a":8},"merges":["▁ ##a"]},
	  "decoder":{"type":"Sequence","decoders":[{"type":"ByteFallback"},{"type":"Metaspace","replacement":"▁","prepend_scheme":"always"},{"type":"BPEDecoder"}]}}`,
	`{"pre_tokenizer":{"type":"CharDelimiterSplit","delimiter":"-"},"model":{"type":"WordPiece","continuing_subword_prefix":"","max_input_chars_per_word":3,"vocab":{"[UNK]":0,"ab":1,"c":2}},
	  "post_processor":null,"padding":{"strategy":"BatchLongest","direction":"Left","pad_to_multiple_of":4,"pad_id":0,"pad_token":"[UNK]"}}`,
}

var fuzzTexts = []string{"", "a", "ab abc", "A\u0301b x ﬁ 12345 [PAD] [CLS]ab", "\xff\xfe\x00a", "▁▁a  b\n\r\n\t", "İ ǅ 한국어 🇯🇵👍🏽", "'s 'LL don't"}

// checkEncoding verifies the invariants every encoding must satisfy.
func checkEncoding(t *testing.T, tk *Tokenizer, e *Encoding, a, b string) {
	t.Helper()
	n := len(e.IDs)
	if len(e.Tokens) != n || len(e.TypeIDs) != n || len(e.AttentionMask) != n || len(e.SpecialTokensMask) != n || len(e.Offsets) != n {
		t.Fatalf("inconsistent lengths %d %d %d %d %d %d", n, len(e.Tokens), len(e.TypeIDs), len(e.AttentionMask), len(e.SpecialTokensMask), len(e.Offsets))
	}
	na, nb := utf8.RuneCountInString(a), utf8.RuneCountInString(b)
	for i, id := range e.IDs {
		if id < 0 || id >= tk.VocabSize() {
			t.Fatalf("id %d out of range (vocab %d) for %q", id, tk.VocabSize(), a)
		}
		o := e.Offsets[i]
		lim := max(na, nb)
		if o[0] < 0 || o[1] < o[0] || o[1] > lim {
			t.Fatalf("bad offsets %v (len %d/%d) for %q %q", o, na, nb, a, b)
		}
	}
}

func FuzzFromBytes(f *testing.F) {
	for _, c := range smallConfigs {
		f.Add([]byte(c), "ab abc")
	}
	f.Add([]byte(`{"model":{"type":"Unigram","vocab":[]}}`), "x")
	f.Add([]byte(`{"normalizer":{"type":"Precompiled","precompiled_charsmap":"AAAAAA=="},"model":{"type":"WordPiece","vocab":{"[UNK]":0}}}`), "x")
	f.Fuzz(func(t *testing.T, data []byte, text string) {
		tk, err := fromBytes(data)
		if err != nil {
			return
		}
		for _, s := range []string{text, "a b", ""} {
			e, err := tk.Encode(s, true)
			if err == nil {
				checkEncoding(t, tk, e, s, "")
				tk.Decode(e.IDs, true)
				tk.Decode(e.IDs, false)
			}
			if e, err := tk.EncodePair(s, text, true); err == nil {
				checkEncoding(t, tk, e, s, text)
			}
		}
	})
}

func TestSmallConfigs(t *testing.T) {
	for i, c := range smallConfigs {
		tk, err := fromBytes([]byte(c))
		if err != nil {
			t.Fatalf("config %d: %v", i, err)
		}
		for _, s := range fuzzTexts {
			for _, add := range []bool{true, false} {
				e, err := tk.Encode(s, add)
				if err != nil {
					t.Fatalf("config %d %q: %v", i, s, err)
				}
				checkEncoding(t, tk, e, s, "")
				_ = tk.Decode(e.IDs, !add)
				e, err = tk.EncodePair(s, "a b", add)
				if err == nil {
					checkEncoding(t, tk, e, s, "a b")
				}
			}
		}
	}
}

// fuzzTokenizer loads one golden tokenizer (once per process; only the
// ones a target uses, so fuzz workers start fast).
func fuzzTokenizer(t testing.TB, name string) *Tokenizer {
	for _, g := range goldenFiles {
		if g.name == name {
			tk, err := loadCached(testdata.Path(t, g.file))
			if err != nil {
				t.Fatal(err)
			}
			return tk
		}
	}
	t.Fatalf("no tokenizer %s", name)
	return nil
}

func fuzzEncode(f *testing.F, names ...string) {
	for _, s := range fuzzTexts {
		f.Add(s, "b", uint8(0))
	}
	f.Add("The quick brown fox", "jumps", uint8(3))
	f.Fuzz(func(t *testing.T, a, b string, mode uint8) {
		for _, name := range names {
			tk := fuzzTokenizer(t, name).WithoutPadding().WithoutTruncation()
			if mode&1 != 0 {
				strat := TruncationStrategy(mode>>2) % 3
				dir := Direction(mode>>4) % 2
				tk = tk.WithTruncation(Truncation{MaxLength: int(mode >> 1 & 15), Strategy: strat, Direction: dir})
			}
			if mode&2 != 0 {
				tk = tk.WithPadding(Padding{Length: int(mode >> 3), PadToMultipleOf: int(mode >> 6), Direction: Direction(mode>>5) % 2})
			}
			add := mode&128 == 0
			if e, err := tk.Encode(a, add); err == nil {
				checkEncoding(t, tk, e, sanitizeUTF8(a), "")
				tk.Decode(e.IDs, add)
			}
			if e, err := tk.EncodePair(a, b, add); err == nil {
				checkEncoding(t, tk, e, sanitizeUTF8(a), sanitizeUTF8(b))
			}
			if _, err := tk.EncodeBatch([]Input{{Text: a}, {Text: b, Pair: a, HasPair: true}}, add); err != nil && mode&1 == 0 {
				t.Fatalf("EncodeBatch: %v", err)
			}
		}
	})
}

func FuzzEncodeWordPiece(f *testing.F) { fuzzEncode(f, "bert-base-uncased", "bert-base-chinese") }
func FuzzEncodeBPE(f *testing.F)       { fuzzEncode(f, "qwen3", "clip") }
func FuzzEncodeUnigram(f *testing.F)   { fuzzEncode(f, "t5", "xlmr-style-unigram") }
