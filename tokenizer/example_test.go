package tokenizer_test

import (
	"fmt"

	"github.com/airvec/airvec/tokenizer"
)

func Example() {
	// A tiny BERT-style tokenizer.json (real files come from a model
	// directory: tokenizer.Load("model/tokenizer.json")).
	tk, err := tokenizer.FromBytes([]byte(`{
	  "normalizer": {"type": "BertNormalizer", "lowercase": true},
	  "pre_tokenizer": {"type": "BertPreTokenizer"},
	  "model": {"type": "WordPiece", "unk_token": "[UNK]",
	            "vocab": {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "hello": 4, "wor": 5, "##ld": 6, "!": 7}},
	  "post_processor": {"type": "BertProcessing", "sep": ["[SEP]", 3], "cls": ["[CLS]", 2]},
	  "decoder": {"type": "WordPiece"},
	  "added_tokens": [{"id": 0, "content": "[PAD]", "special": true}, {"id": 2, "content": "[CLS]", "special": true},
	                   {"id": 3, "content": "[SEP]", "special": true}]}`))
	if err != nil {
		panic(err)
	}
	enc, err := tk.WithPadding(tokenizer.Padding{Length: 8, PadToken: "[PAD]"}).Encode("Héllo World!", true)
	if err != nil {
		panic(err)
	}
	fmt.Println(enc.IDs, enc.AttentionMask)
	fmt.Println(enc.Tokens[:6], enc.Offsets[:6])
	fmt.Println(tk.Decode(enc.IDs, true))
	// Output:
	// [2 4 5 6 7 3 0 0] [1 1 1 1 1 1 0 0]
	// [[CLS] hello wor ##ld ! [SEP]] [[0 0] [0 5] [6 9] [9 11] [11 12] [0 0]]
	// hello world!
}
