package heads

import (
	"fmt"
	"math"
	"sort"

	"github.com/airvec/airvec/internal/encoder"
	"github.com/airvec/airvec/kernels"
	"github.com/airvec/airvec/weights"
)

// Entry is one non-zero coordinate of a sparse vector.
type Entry struct {
	ID     int
	Weight float32
}

// Linear is a loaded PyTorch Linear layer (weight out×in, bias out).
type Linear struct {
	W *kernels.Packed
	B []float32
}

// LoadLinear loads s.weight (out, in) and s.bias (out).
func LoadLinear(s *weights.Scope, out, in int, prec kernels.Precision) (*Linear, error) {
	w, err := s.Tensor("weight", out, in)
	if err != nil {
		return nil, fmt.Errorf("heads: %w", err)
	}
	b, err := s.Tensor("bias", out)
	if err != nil {
		return nil, fmt.Errorf("heads: %w", err)
	}
	return &Linear{W: kernels.Pack(w, out, in, prec), B: b}, nil
}

// ActFromName maps a config.json hidden_act to a kernels activation.
func ActFromName(name string) (kernels.Act, error) {
	switch name {
	case "gelu", "":
		return kernels.ActGELU, nil
	case "gelu_new", "gelu_pytorch_tanh", "gelu_fast":
		return kernels.ActGELUTanh, nil
	case "quick_gelu":
		return kernels.ActQuickGELU, nil
	case "silu", "swish":
		return kernels.ActSiLU, nil
	case "relu":
		return kernels.ActReLU, nil
	}
	return 0, fmt.Errorf("heads: hidden_act %q not supported", name)
}

// firstTokens gathers the first row of each sequence: (B, H).
func firstTokens(hidden []float32, b *encoder.Batch, h int) []float32 {
	x := make([]float32, b.B*h)
	for i := 0; i < b.B; i++ {
		copy(x[i*h:(i+1)*h], hidden[i*b.L*h:i*b.L*h+h])
	}
	return x
}

// Classifier is a sequence-classification head on the first token:
// logits = out(tanh(dense(h[0]))).
//
// For BertForSequenceClassification dense is bert.pooler.dense and out is
// classifier (modeling_bert.py BertPooler + classifier); for
// XLMRobertaForSequenceClassification they are classifier.dense and
// classifier.out_proj (modeling_xlm_roberta.py XLMRobertaClassificationHead).
type Classifier struct {
	H, Labels int
	dense     *Linear
	out       *Linear
}

// LoadBertClassifier loads the pooler at pooler ("bert.pooler.dense" scope's
// parent, e.g. root.Sub("bert").Sub("pooler")) and the classifier at
// classifier (root.Sub("classifier")).
func LoadBertClassifier(pooler, classifier *weights.Scope, h, labels int) (*Classifier, error) {
	d, err := LoadLinear(pooler.Sub("dense"), h, h, kernels.FP32)
	if err != nil {
		return nil, err
	}
	o, err := LoadLinear(classifier, labels, h, kernels.FP32)
	if err != nil {
		return nil, err
	}
	return &Classifier{H: h, Labels: labels, dense: d, out: o}, nil
}

// LoadRobertaClassifier loads classifier.dense and classifier.out_proj from
// s (root.Sub("classifier")).
func LoadRobertaClassifier(s *weights.Scope, h, labels int) (*Classifier, error) {
	d, err := LoadLinear(s.Sub("dense"), h, h, kernels.FP32)
	if err != nil {
		return nil, err
	}
	o, err := LoadLinear(s.Sub("out_proj"), labels, h, kernels.FP32)
	if err != nil {
		return nil, err
	}
	return &Classifier{H: h, Labels: labels, dense: d, out: o}, nil
}

// Logits returns (B, Labels) logits from the trunk's hidden (B·L, H).
func (c *Classifier) Logits(e *kernels.Engine, hidden []float32, b *encoder.Batch) []float32 {
	x := firstTokens(hidden, b, c.H) // x: (B, H)
	y := make([]float32, b.B*c.H)    // y: (B, H)
	e.MatMul(y, x, b.B, c.dense.W, c.dense.B, kernels.ActNone)
	for i, v := range y {
		y[i] = float32(math.Tanh(float64(v)))
	}
	out := make([]float32, b.B*c.Labels) // out: (B, Labels)
	e.MatMul(out, y, b.B, c.out.W, c.out.B, kernels.ActNone)
	return out
}

// Sigmoid is 1/(1+e^-x).
func Sigmoid(x float32) float32 {
	return float32(1 / (1 + math.Exp(-float64(x))))
}

// Lexical is BGE-M3's sparse head: w_pos = ReLU(h_pos · weight + bias).
type Lexical struct {
	H int
	W []float32 // (H)
	B float32
}

// LoadLexical loads weight (1, H) and bias (1) from s (the root scope of
// sparse_linear.safetensors).
func LoadLexical(s *weights.Scope, h int) (*Lexical, error) {
	w, err := s.Tensor("weight", 1, h)
	if err != nil {
		return nil, fmt.Errorf("heads: sparse_linear: %w", err)
	}
	b, err := s.Tensor("bias", 1)
	if err != nil {
		return nil, fmt.Errorf("heads: sparse_linear: %w", err)
	}
	return &Lexical{H: h, W: append([]float32(nil), w...), B: b[0]}, nil
}

// TokenWeights returns ReLU(h·w+b) for every row of hidden (B·L, H); padded
// positions (mask 0) get 0.
func (l *Lexical) TokenWeights(hidden []float32, b *encoder.Batch) []float32 {
	out := make([]float32, b.B*b.L)
	for r := range out {
		if b.Mask != nil && b.Mask[r] == 0 {
			continue
		}
		v := kernels.Dot(hidden[r*l.H:(r+1)*l.H], l.W) + l.B
		if v > 0 {
			out[r] = v
		}
	}
	return out
}

// Pool reduces the token weights of sequence i of b to its sparse vector as
// BGE-M3's _process_token_weights does: max over the positions of each
// token id, ids in skip dropped, only weights > 0 kept; sorted by id.
func (l *Lexical) Pool(tokenWeights []float32, b *encoder.Batch, i int, skip map[int]bool) []Entry {
	best := map[int]float32{}
	for p := 0; p < b.L; p++ {
		r := i*b.L + p
		if b.Mask != nil && b.Mask[r] == 0 {
			continue
		}
		id, w := b.IDs[r], tokenWeights[r]
		if skip[id] || !(w > 0) {
			continue
		}
		if w > best[id] {
			best[id] = w
		}
	}
	out := make([]Entry, 0, len(best))
	for id, w := range best {
		out = append(out, Entry{id, w})
	}
	sort.Slice(out, func(a, b int) bool { return out[a].ID < out[b].ID })
	return out
}
