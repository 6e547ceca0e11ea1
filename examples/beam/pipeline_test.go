package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/airvec/airvec/embed"
	"github.com/airvec/airvec/sparse"
	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/runners/prism"
)

func TestMain(m *testing.M) {
	flag.Parse()
	beam.Init()
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	os.Exit(m.Run())
}

var words = strings.Fields(`the of and to in is was for on that with as by at from his her it an were are which this
be or has had not but also first new one their after its who they two been more other into all she time over year
some may would when only most up than city out about world state during made so can there school between under
used many people part where such through three while later these known him years number since music like film
company called several house second both early including against became water city river search engine vector
embedding pipeline model token corpus document query café naïve über 東京 데이터 données`)

// genText is a deterministic document of lo..hi words.
func genText(r *rand.Rand, lo, hi int) string {
	n := lo + r.IntN(hi-lo+1)
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(words[r.IntN(len(words))])
	}
	return b.String()
}

// corpus is a test input directory and what the pipeline should make of it.
type corpus struct {
	dir    string
	glob   string
	texts  map[string]string // id → text of every good document
	dead   map[string]string // source → reason
	blanks int
}

func writeFile(t *testing.T, name string, data []byte) {
	t.Helper()
	if err := os.WriteFile(name, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// makeCorpus writes two JSONL files, a gzip JSONL file, a plain text file
// and a JSONL file with broken lines under a temp dir.
func makeCorpus(t *testing.T, nPerFile int) *corpus {
	dir := filepath.Join(t.TempDir(), "in")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	c := &corpus{dir: dir, glob: filepath.Join(dir, "*"), texts: map[string]string{}, dead: map[string]string{}}
	r := rand.New(rand.NewPCG(13, 42))
	for f := range 3 {
		var b bytes.Buffer
		for i := range nPerFile {
			if i%97 == 50 {
				b.WriteString("   \n")
				c.blanks++
				continue
			}
			id := fmt.Sprintf("f%d-%05d", f, i)
			text := genText(r, 1, 60)
			if i%211 == 7 {
				text = genText(r, 450, 700) // beyond 512 tokens: truncated
			}
			c.texts[id] = text
			line, _ := json.Marshal(map[string]string{"id": id, "text": text})
			b.Write(line)
			b.WriteByte('\n')
		}
		name := filepath.Join(dir, fmt.Sprintf("docs-%d.jsonl", f))
		if f == 2 {
			var z bytes.Buffer
			zw := gzip.NewWriter(&z)
			zw.Write(b.Bytes())
			zw.Close()
			b = z
			name += ".gz"
		}
		writeFile(t, name, b.Bytes())
	}
	// Plain text: one document per line, id = file:line; no final newline.
	var b bytes.Buffer
	txt := filepath.Join(dir, "notes.txt")
	for i := range 300 {
		if i > 0 {
			b.WriteByte('\n')
		}
		if i%50 == 10 {
			c.blanks++
			continue
		}
		text := genText(r, 1, 40)
		c.texts[fmt.Sprintf("%s:%d", txt, i+1)] = text
		b.WriteString(text)
	}
	writeFile(t, txt, b.Bytes())
	// Broken lines among good ones (CRLF endings too).
	broken := filepath.Join(dir, "broken.jsonl")
	lines := []struct{ line, reason string }{
		{`{"id":"b-1","text":"a good line"}`, ""},
		{`{"id":"b-2","text":`, ReasonInvalidJSON},
		{`not json at all`, ReasonInvalidJSON},
		{`{"id":"b-4","text":""}`, ReasonEmptyText},
		{`{"id":"b-5"}`, ReasonEmptyText},
		{`{"text":"no id here"}`, ReasonMissingID},
		{`{"id":7,"text":"numeric id"}`, ReasonInvalidJSON},
		{`{"id":"b-8","text":["not","a","string"]}`, ReasonInvalidJSON},
		{``, "blank"},
		{`{"id":"b-10","text":"another good line"}`, ""},
		{`["id","text"]`, ReasonInvalidJSON},
		{`{"id":"b-12","text":"crlf line"}` + "\r", ""},
	}
	b.Reset()
	for i, l := range lines {
		b.WriteString(l.line + "\n")
		src := fmt.Sprintf("%s:%d", broken, i+1)
		switch l.reason {
		case "":
			var rec struct{ ID, Text string }
			json.Unmarshal([]byte(l.line), &rec)
			c.texts[rec.ID] = rec.Text
		case "blank":
			c.blanks++
		default:
			c.dead[src] = l.reason
		}
	}
	writeFile(t, broken, b.Bytes())
	return c
}

// runPipeline runs the pipeline on Prism and returns its usage.
func runPipeline(t testing.TB, cfg Config) Usage {
	t.Helper()
	p, s := beam.NewPipelineWithRoot()
	if err := Build(s, cfg); err != nil {
		t.Fatal(err)
	}
	res, err := prism.Execute(context.Background(), p)
	if err != nil {
		t.Fatalf("pipeline: %v", err)
	}
	return UsageOf(res.Metrics())
}

// readShards reads the n shards under prefix, checking each line sits in
// the shard of its id and the lines of a shard are sorted. It returns the
// lines by id and the raw bytes of every file.
func readShards(t *testing.T, prefix string, n int) (map[string][]byte, map[string][]byte) {
	t.Helper()
	byID := map[string][]byte{}
	files := map[string][]byte{}
	for i := range n {
		name := ShardName(prefix, i, n)
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		files[name] = data
		var prev string
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(nil, 1<<24)
		for sc.Scan() {
			line := sc.Text()
			if line < prev {
				t.Errorf("%s: lines not sorted", name)
			}
			prev = line
			var rec struct{ ID string }
			if err := json.Unmarshal([]byte(line), &rec); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if _, dup := byID[rec.ID]; dup {
				t.Errorf("id %q twice", rec.ID)
			}
			if got := shardOf(rec.ID, n); got != i {
				t.Errorf("id %q in shard %d, want %d", rec.ID, i, got)
			}
			byID[rec.ID] = []byte(line)
		}
	}
	return byID, files
}

// checkDir fails on stray files (temporaries) in the output dir.
func checkDir(t *testing.T, dir string, want int) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if len(names) != want {
		t.Errorf("output dir holds %d files, want %d: %v", len(names), want, names)
	}
}

func readDead(t *testing.T, prefix string, n int) map[string]DeadLetter {
	t.Helper()
	lines, _ := readShardLines(t, prefix+"-deadletter", n)
	out := map[string]DeadLetter{}
	for _, l := range lines {
		var d DeadLetter
		if err := json.Unmarshal([]byte(l), &d); err != nil {
			t.Fatal(err)
		}
		if _, dup := out[d.Source]; dup {
			t.Errorf("dead letter for %s twice", d.Source)
		}
		out[d.Source] = d
	}
	return out
}

func readShardLines(t *testing.T, prefix string, n int) ([]string, map[string][]byte) {
	t.Helper()
	var lines []string
	files := map[string][]byte{}
	for i := range n {
		name := ShardName(prefix, i, n)
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		files[name] = data
		for _, l := range strings.Split(string(data), "\n") {
			if l != "" {
				lines = append(lines, l)
			}
		}
	}
	return lines, files
}

func cosine(a, b []float32) float64 {
	var d, na, nb float64
	for i := range a {
		d += float64(a[i]) * float64(b[i])
		na += float64(a[i]) * float64(a[i])
		nb += float64(b[i]) * float64(b[i])
	}
	return d / math.Sqrt(na*nb)
}

func sortedIDs(m map[string]string) []string {
	ids := make([]string, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

func TestDensePipeline(t *testing.T) {
	dir := testdataPath(t, "models/bert-mini-embed")
	n := 1200
	if testing.Short() {
		n = 400
	}
	c := makeCorpus(t, n)
	out := filepath.Join(t.TempDir(), "out")
	cfg := withDefaults(Config{Model: dir, Input: c.glob, Output: filepath.Join(out, "emb"), Batch: 32, Shards: 4, Truncate: true})
	u := runPipeline(t, cfg)
	checkDir(t, out, 4+1)
	got, files := readShards(t, cfg.Output, cfg.Shards)

	// Every good document exactly once, equal to the library's vector.
	lib, err := embed.Load(dir, embed.WithMaxInputs(1<<20))
	if err != nil {
		t.Fatal(err)
	}
	defer lib.Close()
	ids := sortedIDs(c.texts)
	texts := make([]string, len(ids))
	tokens := 0
	for i, id := range ids {
		texts[i] = c.texts[id]
		tok, err := lib.Tokenize(texts[i], "document")
		if err != nil {
			t.Fatal(err)
		}
		tokens += len(tok)
	}
	want, err := lib.EmbedTexts(context.Background(), texts...)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(ids) {
		t.Errorf("%d output lines, want %d", len(got), len(ids))
	}
	minCos, exact := 1.0, 0
	for i, id := range ids {
		line, ok := got[id]
		if !ok {
			t.Errorf("document %q missing from the output", id)
			continue
		}
		var rec denseLine
		if err := json.Unmarshal(line, &rec); err != nil {
			t.Fatal(err)
		}
		if len(rec.Embedding) != len(want[i]) {
			t.Fatalf("%q: dimension %d, want %d", id, len(rec.Embedding), len(want[i]))
		}
		cs := cosine(rec.Embedding, want[i])
		minCos = min(minCos, cs)
		if cs < 0.999999 {
			t.Errorf("%q: cosine %.9f vs the library", id, cs)
		}
		if b, _ := json.Marshal(denseLine{ID: id, Embedding: want[i]}); bytes.Equal(b, line) {
			exact++
		}
	}
	t.Logf("%d documents: min cosine vs library %.9f, %d/%d lines byte-identical to the library's", len(ids), minCos, exact, len(ids))

	// The airvec embed path (a service request of ≤32 inputs) on the first batch.
	req := &embed.Request{Input: embed.Input(texts[:32])}
	resp, err := lib.Embed(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range resp.Result.Embeddings {
		var rec denseLine
		json.Unmarshal(got[ids[e.Index]], &rec)
		if cs := cosine(rec.Embedding, e.Embedding); cs < 0.999999 {
			t.Errorf("%q: cosine %.9f vs airvec embed", ids[e.Index], cs)
		}
	}

	// Dead letters: exactly the broken lines, with their reasons.
	dead := readDead(t, cfg.Output, cfg.DeadShards)
	for src, reason := range c.dead {
		if d, ok := dead[src]; !ok {
			t.Errorf("no dead letter for %s (%s)", src, reason)
		} else if d.Reason != reason || d.Detail == "" || d.Line == "" {
			t.Errorf("dead letter %s: %+v, want reason %s with detail and line", src, d, reason)
		}
	}
	if len(dead) != len(c.dead) {
		t.Errorf("%d dead letters, want %d: %v", len(dead), len(c.dead), dead)
	}

	// Metrics.
	wantU := Usage{Documents: int64(len(ids)), Tokens: int64(tokens), Errors: int64(len(c.dead)), Blank: int64(c.blanks)}
	if u.Documents != wantU.Documents || u.Tokens != wantU.Tokens || u.Errors != wantU.Errors || u.Blank != wantU.Blank {
		t.Errorf("metrics %+v, want %+v", u, wantU)
	}
	if minB := (wantU.Documents + 31) / 32; u.Batches < minB {
		t.Errorf("%d batches, want ≥ %d", u.Batches, minB)
	}
	t.Logf("metrics: %+v", u)
	loads.Lock()
	nl := loads.n[cacheKey(cfg)]
	loads.Unlock()
	if nl != 1 {
		t.Errorf("model loaded %d times in this worker process, want 1", nl)
	}

	// Idempotent: a rerun over the same input writes the same bytes.
	runPipeline(t, cfg)
	checkDir(t, out, 4+1)
	_, files2 := readShards(t, cfg.Output, cfg.Shards)
	for name, data := range files {
		if !bytes.Equal(data, files2[name]) {
			t.Errorf("%s differs after a rerun", name)
		}
	}
}

func withDefaults(c Config) Config {
	c.Validate()
	return c
}

func TestSparsePipeline(t *testing.T) {
	dir := testdataPath(t, "models/splade-mini")
	c := makeCorpus(t, 300)
	out := filepath.Join(t.TempDir(), "out")
	// Truncation off at 48 tokens: the longer documents are dead-lettered.
	cfg := withDefaults(Config{Model: dir, Input: c.glob, Output: filepath.Join(out, "sp"), Kind: "sparse", Batch: 16,
		Shards: 3, DeadShards: 2, MaxTokens: 48, Truncate: false})
	u := runPipeline(t, cfg)
	checkDir(t, out, 3+2)
	got, _ := readShards(t, cfg.Output, cfg.Shards)
	dead := readDead(t, cfg.Output, cfg.DeadShards)

	lib, err := sparse.Load(dir, sparse.WithMaxTokens(48), sparse.WithTruncation(false))
	if err != nil {
		t.Fatal(err)
	}
	defer lib.Close()
	ctx := context.Background()
	good, tokens, long := 0, 0, 0
	minCos := 1.0
	for _, id := range sortedIDs(c.texts) {
		resp, err := lib.Encode(ctx, &sparse.Request{Input: sparse.Input{c.texts[id]}})
		if err != nil {
			long++
			if _, ok := got[id]; ok {
				t.Errorf("%q: library rejects it (%v) but the pipeline embedded it", id, err)
			}
			continue
		}
		good++
		tokens += resp.Usage.TokenCount
		line, ok := got[id]
		if !ok {
			t.Errorf("document %q missing from the output", id)
			continue
		}
		var rec sparseLine
		if err := json.Unmarshal(line, &rec); err != nil {
			t.Fatal(err)
		}
		want := resp.Result.SparseEmbeddings[0].Embedding
		if len(rec.Sparse) != len(want) {
			t.Errorf("%q: %d weights, want %d", id, len(rec.Sparse), len(want))
		}
		cs := sparse.Dot(rec.Sparse, want) / math.Sqrt(sparse.Dot(rec.Sparse, rec.Sparse)*sparse.Dot(want, want))
		minCos = min(minCos, cs)
		if cs < 0.999999 {
			t.Errorf("%q: sparse cosine %.9f vs the library", id, cs)
		}
	}
	if long == 0 {
		t.Fatal("test corpus has no over-long document")
	}
	tooLong := 0
	for _, d := range dead {
		if d.Reason == ReasonTooLong {
			tooLong++
			if d.ID == "" || d.Detail == "" {
				t.Errorf("too_long dead letter without id or detail: %+v", d)
			}
		} else if c.dead[d.Source] != d.Reason {
			t.Errorf("unexpected dead letter %+v", d)
		}
	}
	if tooLong != long || len(dead) != long+len(c.dead) {
		t.Errorf("%d too_long dead letters (want %d), %d in all (want %d)", tooLong, long, len(dead), long+len(c.dead))
	}
	if len(got) != good {
		t.Errorf("%d output lines, want %d", len(got), good)
	}
	wantU := Usage{Documents: int64(good), Tokens: int64(tokens), Errors: int64(long + len(c.dead)), Blank: int64(c.blanks)}
	if u.Documents != wantU.Documents || u.Tokens != wantU.Tokens || u.Errors != wantU.Errors || u.Blank != wantU.Blank {
		t.Errorf("metrics %+v, want %+v", u, wantU)
	}
	t.Logf("sparse: %d documents, %d too long; min cosine vs library %.9f; metrics %+v", good, long, minCos, u)
}
