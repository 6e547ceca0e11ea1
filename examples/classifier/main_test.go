package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/airvec/airvec/internal/testdata"
)

// TestSample trains on the bundled sample with the fixture model and labels
// new lines: the head must fit its training set (the fixture's embeddings
// are not meaningful enough for held-out accuracy), and every output line is
// label<TAB>probability<TAB>text with a known label.
func TestSample(t *testing.T) {
	dir := testdata.Path(t, "models/bert-mini-embed")
	in := strings.NewReader("the goalkeeper made a great save\n\nbake the bread for forty minutes\n")
	var out, errb bytes.Buffer
	if code := run([]string{"-model", dir, "-epochs", "150"}, in, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.Contains(errb.String(), "train accuracy 1.000") {
		t.Errorf("head did not fit the training set: %s", errb.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d output lines: %q", len(lines), out.String())
	}
	for i, want := range []string{"the goalkeeper made a great save", "bake the bread for forty minutes"} {
		f := strings.Split(lines[i], "\t")
		if len(f) != 3 || (f[0] != "sports" && f[0] != "food" && f[0] != "tech") || f[2] != want {
			t.Errorf("line %d: %q", i, lines[i])
		}
	}
}

func TestBadTrainingFile(t *testing.T) {
	dir := testdata.Path(t, "models/bert-mini-embed")
	for _, body := range []string{"sports\tok\nno tab here\n", "only\tone label\nonly\tagain\n", ""} {
		p := filepath.Join(t.TempDir(), "train.tsv")
		os.WriteFile(p, []byte(body), 0o644)
		var out, errb bytes.Buffer
		if code := run([]string{"-model", dir, "-train", p}, nil, &out, &errb); code != 1 || !strings.HasPrefix(errb.String(), "classifier: ") {
			t.Errorf("%q: exit %d, %q", body, code, errb.String())
		}
	}
}
