package multimodal

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/airvec/airvec/internal/imageproc"
	"github.com/airvec/airvec/kernels"
	"github.com/airvec/airvec/weights"
)

// backend is one model family behind Model (CLIP, Chinese-CLIP, GME, M2).
// A family adds a file that registers itself in init (see clip.go).
// Implementations are immutable after load and safe for concurrent use.
type backend interface {
	// name is the family name reported by Model.Kind ("clip", ...).
	name() string
	// dim is the embedding width.
	dim() int
	// logitScale is the factor applied to cosine similarities before the
	// softmax of ZeroShot (CLIP: exp(logit_scale)); 0 means 100.
	logitScale() float32
	// embedTexts returns one L2-normalised embedding per text and the
	// number of tokens the model consumed (special tokens included).
	embedTexts(ctx context.Context, e *kernels.Engine, texts []string) ([][]float32, int, error)
	// embedImages returns one L2-normalised embedding per decoded image
	// (Model passes at most the image batch at a time).
	embedImages(ctx context.Context, e *kernels.Engine, imgs []*imageproc.RGB) ([][]float32, error)
}

// fusedBackend is implemented by families whose entries may carry text and
// image together, embedded into one vector (GME). Model routes every entry
// of a request to embedFused when the backend implements it, in chunks of
// at most the image batch (WithImageBatch) entries in request order;
// otherwise an entry with both fields embeds its text.
type fusedBackend interface {
	backend
	// embedFused embeds each item (text only, image only, or both) and
	// returns the tokens consumed.
	embedFused(ctx context.Context, e *kernels.Engine, items []fusedItem) ([][]float32, int, error)
}

// fusedItem is one entry for embedFused: Text may be "" and Image nil, not
// both.
type fusedItem struct {
	Text  string
	Image *imageproc.RGB
}

// dirConfig is what families see of a model directory when probing it.
type dirConfig struct {
	Dir           string          // the resolved directory
	WDir          *weights.Dir    // the directory as package weights reads it
	HasConfig     bool            // config.json present
	Raw           json.RawMessage // config.json (nil when absent)
	Architectures []string        `json:"architectures"`
	ModelType     string          `json:"model_type"`
}

func (c *dirConfig) hasArch(names ...string) bool {
	for _, a := range c.Architectures {
		for _, n := range names {
			if a == n {
				return true
			}
		}
	}
	return false
}

// family is a registered backend kind.
type family struct {
	name string
	// match reports whether the directory holds this family.
	match func(c *dirConfig) bool
	// load builds the backend.
	load func(c *dirConfig, o *options) (backend, error)
}

var families []family

// register adds a family; called from init functions.
func register(f family) { families = append(families, f) }

// readDirConfig opens dir (a directory, or a Hugging Face repo id found in
// the local cache) and reads its config.json when there is one.
func readDirConfig(dir string) (*dirConfig, error) {
	if st, err := os.Stat(dir); err == nil && !st.IsDir() {
		return nil, fmt.Errorf("multimodal: %s is not a directory", dir)
	}
	d, err := weights.OpenDir(dir)
	if err != nil {
		return nil, fmt.Errorf("multimodal: %w", err)
	}
	c := &dirConfig{Dir: d.Path, WDir: d}
	if d.ConfigJSON == nil {
		return c, nil
	}
	if err := json.Unmarshal(d.ConfigJSON, c); err != nil {
		return nil, fmt.Errorf("multimodal: %s: config.json: %v", d.Path, err)
	}
	c.HasConfig, c.Raw = true, d.ConfigJSON
	return c, nil
}
