package tokenizer

import "errors"

type BPEConfig struct {
	UnkToken                string
	HasUnk                  bool
	ContinuingSubwordPrefix string
	EndOfWordSuffix         string
	FuseUnk, ByteFallback   bool
	IgnoreMerges            bool
}

func NewBPE(vocab map[string]int, merges [][2]string, cfg BPEConfig) (model, error) {
	return nil, errors.New("tokenizer: BPE not yet")
}
