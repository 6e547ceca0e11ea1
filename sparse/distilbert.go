package sparse

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"

	"github.com/airvec/airvec/internal/bert"
	"github.com/airvec/airvec/weights"
)

// DistilBertForMaskedLM (the OpenSearch neural-sparse "distill" doc
// encoders) is BERT without token types, in other tensor names
// (transformers models/distilbert/modeling_distilbert.py):
//
//	Embeddings:        LN(word[id] + position[p]), eps 1e-12
//	TransformerBlock:  a = sa_layer_norm(out_lin(attn(q_lin, k_lin, v_lin)) + x)
//	                   x = output_layer_norm(ffn.lin2(act(ffn.lin1(a))) + a)
//	MLM head:          vocab_projector(vocab_layer_norm(act(vocab_transform(x))))
//
// which is exactly BertModel's post-LN layer and BertLMPredictionHead. So
// the BERT trunk and heads.MLM run it through distilStore, a view of the
// checkpoint under BERT's names. The mapping is by name (each BERT name has
// one DistilBERT name), never by position.

// distilConfig mirrors the DistilBertConfig fields the forward uses.
type distilConfig struct {
	VocabSize             int    `json:"vocab_size"`
	Dim                   int    `json:"dim"`
	NLayers               int    `json:"n_layers"`
	NHeads                int    `json:"n_heads"`
	HiddenDim             int    `json:"hidden_dim"`
	Activation            string `json:"activation"`
	MaxPositionEmbeddings int    `json:"max_position_embeddings"`
	PadTokenID            int    `json:"pad_token_id"`
}

// bertConfigFromDistil converts a DistilBERT config.json to the equivalent
// bert.Config (no token types, LayerNorm eps 1e-12 as DistilBERT hard-codes).
func bertConfigFromDistil(raw []byte) (bert.Config, error) {
	dc := distilConfig{Activation: "gelu", MaxPositionEmbeddings: 512}
	if err := json.Unmarshal(raw, &dc); err != nil {
		return bert.Config{}, fmt.Errorf("distilbert: config.json: %w", err)
	}
	c := bert.Config{
		VocabSize:             dc.VocabSize,
		HiddenSize:            dc.Dim,
		NumHiddenLayers:       dc.NLayers,
		NumAttentionHeads:     dc.NHeads,
		IntermediateSize:      dc.HiddenDim,
		HiddenAct:             dc.Activation,
		MaxPositionEmbeddings: dc.MaxPositionEmbeddings,
		TypeVocabSize:         0,
		LayerNormEps:          1e-12,
		PadTokenID:            dc.PadTokenID,
		ModelType:             "distilbert",
		PositionEmbeddingType: "absolute",
	}
	if err := c.Validate(); err != nil {
		return bert.Config{}, fmt.Errorf("distilbert: %w", err)
	}
	return c, nil
}

// distilRules map each DistilBertForMaskedLM tensor name to the BERT name
// the BERT trunk and heads.MLM ask for ("bert.…", "cls.predictions.…").
var distilRules = []struct {
	re   *regexp.Regexp
	repl string
}{
	{regexp.MustCompile(`^distilbert\.embeddings\.(word_embeddings|position_embeddings|LayerNorm)\.`), "bert.embeddings.$1."},
	{regexp.MustCompile(`^distilbert\.transformer\.layer\.(\d+)\.attention\.q_lin\.`), "bert.encoder.layer.$1.attention.self.query."},
	{regexp.MustCompile(`^distilbert\.transformer\.layer\.(\d+)\.attention\.k_lin\.`), "bert.encoder.layer.$1.attention.self.key."},
	{regexp.MustCompile(`^distilbert\.transformer\.layer\.(\d+)\.attention\.v_lin\.`), "bert.encoder.layer.$1.attention.self.value."},
	{regexp.MustCompile(`^distilbert\.transformer\.layer\.(\d+)\.attention\.out_lin\.`), "bert.encoder.layer.$1.attention.output.dense."},
	{regexp.MustCompile(`^distilbert\.transformer\.layer\.(\d+)\.sa_layer_norm\.`), "bert.encoder.layer.$1.attention.output.LayerNorm."},
	{regexp.MustCompile(`^distilbert\.transformer\.layer\.(\d+)\.ffn\.lin1\.`), "bert.encoder.layer.$1.intermediate.dense."},
	{regexp.MustCompile(`^distilbert\.transformer\.layer\.(\d+)\.ffn\.lin2\.`), "bert.encoder.layer.$1.output.dense."},
	{regexp.MustCompile(`^distilbert\.transformer\.layer\.(\d+)\.output_layer_norm\.`), "bert.encoder.layer.$1.output.LayerNorm."},
	{regexp.MustCompile(`^vocab_transform\.`), "cls.predictions.transform.dense."},
	{regexp.MustCompile(`^vocab_layer_norm\.`), "cls.predictions.transform.LayerNorm."},
	{regexp.MustCompile(`^vocab_projector\.weight$`), "cls.predictions.decoder.weight"},
	{regexp.MustCompile(`^vocab_projector\.bias$`), "cls.predictions.bias"},
}

// distilStore presents a DistilBertForMaskedLM checkpoint under BERT names.
// Names no rule maps are passed through unchanged, so Scope.Unused still
// reports unexpected tensors.
type distilStore struct {
	st    weights.Store
	alias map[string]string // BERT name → stored name
	names []string          // BERT names, sorted
}

func newDistilStore(st weights.Store) *distilStore {
	d := &distilStore{st: st, alias: map[string]string{}}
	for _, stored := range st.Names() {
		name := stored
		for _, r := range distilRules {
			if r.re.MatchString(stored) {
				name = r.re.ReplaceAllString(stored, r.repl)
				break
			}
		}
		d.alias[name] = stored
		d.names = append(d.names, name)
	}
	sort.Strings(d.names)
	return d
}

func (d *distilStore) resolve(name string) string {
	if s, ok := d.alias[name]; ok {
		return s
	}
	return name
}

func (d *distilStore) Names() []string { return d.names }

func (d *distilStore) Info(name string) (weights.TensorInfo, bool) {
	info, ok := d.st.Info(d.resolve(name))
	if ok {
		info.Name = name
	}
	return info, ok
}

func (d *distilStore) Float32(name string) ([]float32, error) {
	return d.st.Float32(d.resolve(name))
}

func (d *distilStore) Close() error { return d.st.Close() }
