// Command classifier is an offline text classifier end to end: it embeds a
// labelled text file with airvec, trains a small classifier head on the
// embeddings with spaGO's autograd, and labels new lines.
//
//	go run ./examples/classifier                          # sample.tsv, bert-mini-embed fixture
//	go run ./examples/classifier -model DIR -train data.tsv -epochs 100 < new.txt
//	echo "the striker scored" | go run ./examples/classifier
//
// The training file has one example per line, label<TAB>text ("#" lines
// and blank lines are skipped). Every -holdout-th example is kept out of
// training and reported as held-out accuracy. Lines to classify come from
// -classify FILE or standard input (when it is not a terminal); each prints
// as label<TAB>probability<TAB>text.
//
// The head is Linear(dim → hidden) + ReLU + Linear(hidden → classes) trained
// with cross-entropy and Adam (or a single Linear with -hidden 0). Embeddings
// reach spaGO through weights/spago without copying.
//
// The default model is the tiny bert-mini-embed test fixture, whose
// embeddings carry little meaning: it shows the pipeline, not accuracy. Point
// -model at a real embedding model (e.g. a bge-small-en-v1.5 directory) for
// useful labels.
package main

import (
	"bufio"
	"context"
	stdembed "embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"

	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/initializers"
	"github.com/nlpodyssey/spago/losses"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/mat/rand"
	"github.com/nlpodyssey/spago/nn"
	"github.com/nlpodyssey/spago/optimizers"
	"github.com/nlpodyssey/spago/optimizers/adam"

	"github.com/airvec/airvec/embed"
	"github.com/airvec/airvec/examples/internal/fixtures"
	"github.com/airvec/airvec/weights/spago"
)

//go:embed sample.tsv
var sampleFS stdembed.FS

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("classifier", flag.ContinueOnError)
	fs.SetOutput(stderr)
	modelDir := fs.String("model", "", "embedding model directory or HF repo id (default: the bert-mini-embed fixture)")
	train := fs.String("train", "", "labelled examples, label<TAB>text per line (default: the bundled sample.tsv)")
	classify := fs.String("classify", "", "file of lines to label (default: standard input when it is not a terminal)")
	epochs := fs.Int("epochs", 200, "training epochs (full passes)")
	hidden := fs.Int("hidden", 64, "hidden units of the head (0 = a linear head)")
	lr := fs.Float64("lr", 0.01, "Adam step size")
	holdout := fs.Int("holdout", 5, "keep every n-th example out of training for validation (0 = train on all)")
	seed := fs.Uint64("seed", 1, "initialisation seed")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if err := classifier(*modelDir, *train, *classify, *epochs, *hidden, *lr, *holdout, *seed, stdin, stdout, stderr); err != nil {
		fmt.Fprintln(stderr, "classifier:", err)
		return 1
	}
	return 0
}

type example struct {
	label int
	text  string
}

func classifier(modelDir, trainFile, classifyFile string, epochs, hidden int, lr float64, holdout int, seed uint64,
	stdin io.Reader, stdout, stderr io.Writer) error {
	if modelDir == "" {
		d, err := fixtures.Model("bert-mini-embed")
		if err != nil {
			return err
		}
		modelDir = d
	}
	var data []byte
	var err error
	if trainFile == "" {
		data, err = sampleFS.ReadFile("sample.tsv")
	} else {
		data, err = os.ReadFile(trainFile)
	}
	if err != nil {
		return err
	}
	labels, exs, err := parseTSV(string(data))
	if err != nil {
		return err
	}
	m, err := embed.Load(modelDir)
	if err != nil {
		return err
	}
	defer m.Close()
	ctx := context.Background()
	texts := make([]string, len(exs))
	for i, e := range exs {
		texts[i] = e.text
	}
	vecs, err := embedAll(ctx, m, texts)
	if err != nil {
		return err
	}
	var trainX, testX []mat.Tensor
	var trainY, testY []int
	for i, v := range vecs {
		x, err := spago.FromFloat32(v, len(v)) // a column vector sharing v
		if err != nil {
			return err
		}
		if holdout > 0 && i%holdout == holdout-1 {
			testX, testY = append(testX, x), append(testY, exs[i].label)
		} else {
			trainX, trainY = append(trainX, x), append(trainY, exs[i].label)
		}
	}
	h := newHead(m.Dimension(), hidden, len(labels), seed)
	cfg := adam.NewDefaultConfig()
	cfg.StepSize = lr
	opt := optimizers.New(nn.Parameters(h), adam.New(cfg))
	var loss float64
	for ep := 0; ep < epochs; ep++ {
		loss = 0
		for i, x := range trainX {
			l := losses.CrossEntropy(h.forward(x), trainY[i])
			// Mean over the epoch: scale each example's gradient by 1/n.
			l = ag.Div(l, mat.Scalar(float32(len(trainX))))
			if err := ag.Backward(l); err != nil {
				return err
			}
			loss += l.Value().Item().F64()
		}
		if err := opt.Optimize(); err != nil {
			return err
		}
	}
	fmt.Fprintf(stderr, "classifier: %d classes (%s), %d training / %d held-out examples, dim %d, %d epochs: loss %.4f, train accuracy %.3f",
		len(labels), strings.Join(labels, ", "), len(trainX), len(testX), m.Dimension(), epochs, loss, h.accuracy(trainX, trainY))
	if len(testX) > 0 {
		fmt.Fprintf(stderr, ", held-out accuracy %.3f", h.accuracy(testX, testY))
	}
	fmt.Fprintln(stderr)

	var in io.Reader
	switch {
	case classifyFile != "":
		f, err := os.Open(classifyFile)
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	case stdin != nil && !isTerminal(stdin):
		in = stdin
	default:
		return nil
	}
	var lines []string
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if s := strings.TrimSpace(sc.Text()); s != "" {
			lines = append(lines, s)
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	if len(lines) == 0 {
		return nil
	}
	qv, err := embedAll(ctx, m, lines)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(stdout)
	defer w.Flush()
	for i, v := range qv {
		x, err := spago.FromFloat32(v, len(v))
		if err != nil {
			return err
		}
		p := mat.Data[float32](ag.Softmax(h.forward(x)).Value())
		best := 0
		for c := range p {
			if p[c] > p[best] {
				best = c
			}
		}
		fmt.Fprintf(w, "%s\t%.3f\t%s\n", labels[best], p[best], lines[i])
	}
	return nil
}

// parseTSV reads label<TAB>text lines; labels are numbered in order of
// first appearance.
func parseTSV(s string) ([]string, []example, error) {
	var labels []string
	var exs []example
	for n, line := range strings.Split(s, "\n") {
		line = strings.TrimRight(line, "\r")
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		label, text, ok := strings.Cut(line, "\t")
		label, text = strings.TrimSpace(label), strings.TrimSpace(text)
		if !ok || label == "" || text == "" {
			return nil, nil, fmt.Errorf("line %d: want label<TAB>text", n+1)
		}
		c := slices.Index(labels, label)
		if c < 0 {
			c = len(labels)
			labels = append(labels, label)
		}
		exs = append(exs, example{c, text})
	}
	if len(labels) < 2 {
		return nil, nil, errors.New("need examples of at least two labels")
	}
	return labels, exs, nil
}

// embedAll embeds texts in chunks of the service's 32-input limit.
func embedAll(ctx context.Context, m *embed.Model, texts []string) ([][]float32, error) {
	var out [][]float32
	for i := 0; i < len(texts); i += embed.DefaultMaxInputs {
		v, err := m.EmbedTexts(ctx, texts[i:min(i+embed.DefaultMaxInputs, len(texts))]...)
		if err != nil {
			return nil, err
		}
		out = append(out, v...)
	}
	return out, nil
}

// head is the trainable classifier: logits = W2·ReLU(W1·x + B1) + B2, or
// W2·x + B2 without a hidden layer.
type head struct {
	nn.Module
	W1, B1, W2, B2 *nn.Param
}

func newHead(dim, hidden, classes int, seed uint64) *head {
	r := rand.NewLockedRand(seed)
	h := &head{}
	in := dim
	if hidden > 0 {
		h.W1 = nn.NewParam(mat.NewDense[float32](mat.WithShape(hidden, dim), mat.WithGrad(true)))
		h.B1 = nn.NewParam(mat.NewDense[float32](mat.WithShape(hidden), mat.WithGrad(true)))
		initializers.XavierUniform(h.W1.Value().(mat.Matrix), math.Sqrt2, r) // ReLU gain
		in = hidden
	}
	h.W2 = nn.NewParam(mat.NewDense[float32](mat.WithShape(classes, in), mat.WithGrad(true)))
	h.B2 = nn.NewParam(mat.NewDense[float32](mat.WithShape(classes), mat.WithGrad(true)))
	initializers.XavierUniform(h.W2.Value().(mat.Matrix), 1, r)
	return h
}

func (h *head) forward(x mat.Tensor) mat.Tensor {
	if h.W1 != nil {
		x = ag.ReLU(ag.Add(ag.Mul(h.W1, x), h.B1))
	}
	return ag.Add(ag.Mul(h.W2, x), h.B2)
}

func (h *head) accuracy(xs []mat.Tensor, ys []int) float64 {
	ok := 0
	for i, x := range xs {
		p := mat.Data[float32](h.forward(x).Value())
		best := 0
		for c := range p {
			if p[c] > p[best] {
				best = c
			}
		}
		if best == ys[i] {
			ok++
		}
	}
	return float64(ok) / math.Max(1, float64(len(xs)))
}

// isTerminal reports whether r is a character device (an interactive
// terminal), so a bare run does not wait on the keyboard.
func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
