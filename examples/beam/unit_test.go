package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/airvec/airvec/embed"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/memfs"
)

func TestConfigValidate(t *testing.T) {
	ok := Config{Model: "m", Input: "i", Output: "o"}
	c := ok
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.Kind != "dense" || c.InputType != "document" || c.Batch != 32 || c.Shards != 8 || c.DeadShards != 1 || c.Precision != "fp32" || c.Format != "auto" {
		t.Errorf("defaults: %+v", c)
	}
	for _, bad := range []func(*Config){
		func(c *Config) { c.Model = "" },
		func(c *Config) { c.Input = "" },
		func(c *Config) { c.Output = "" },
		func(c *Config) { c.Kind = "rerank" },
		func(c *Config) { c.InputType = "passage" },
		func(c *Config) { c.Precision = "fp16" },
		func(c *Config) { c.Format = "csv" },
		func(c *Config) { c.Threads = -1 },
	} {
		c := ok
		bad(&c)
		if err := c.Validate(); err == nil || !strings.HasPrefix(err.Error(), "beam-embed: ") {
			t.Errorf("%+v: error %v", c, err)
		}
	}
}

func TestParseJSONLine(t *testing.T) {
	for _, tc := range []struct{ line, reason, id, text string }{
		{`{"id":"a","text":"hello"}`, "", "a", "hello"},
		{`{"id":"a","text":"hello","extra":1}`, "", "a", "hello"},
		{`{"text":"hello","id":"ü"}`, "", "ü", "hello"},
		{`{"id":"a","text":"x"`, ReasonInvalidJSON, "", ""},
		{`{"id":1,"text":"x"}`, ReasonInvalidJSON, "", ""},
		{`{"id":"a","text":null}`, ReasonEmptyText, "a", ""},
		{`{"id":"","text":"x"}`, ReasonMissingID, "", ""},
		{`null`, ReasonMissingID, "", ""},
		{`"just a string"`, ReasonInvalidJSON, "", ""},
	} {
		d, dl, ok := parseJSONLine([]byte(tc.line), "f:1")
		if tc.reason == "" {
			if !ok || d.ID != tc.id || d.Text != tc.text || d.Source != "f:1" {
				t.Errorf("%s: %+v %+v", tc.line, d, dl)
			}
			continue
		}
		if ok || dl.Reason != tc.reason || dl.ID != tc.id || dl.Source != "f:1" || dl.Line != tc.line {
			t.Errorf("%s: %+v, want reason %s", tc.line, dl, tc.reason)
		}
	}
	long := bytes.Repeat([]byte("x"), 5000)
	if _, dl, _ := parseJSONLine(long, "f:2"); len(dl.Line) != maxDeadLine {
		t.Errorf("dead-letter line of %d bytes, want %d", len(dl.Line), maxDeadLine)
	}
}

func TestIsJSONL(t *testing.T) {
	for name, want := range map[string]bool{"a.jsonl": true, "a.JSONL.gz": true, "x/a.ndjson": true, "a.json": true, "a.txt": false, "a": false, "a.txt.gz": false} {
		if got := isJSONL("auto", name); got != want {
			t.Errorf("%s: %v", name, got)
		}
	}
	if !isJSONL("jsonl", "a.txt") || isJSONL("text", "a.jsonl") {
		t.Error("explicit format ignored")
	}
}

func TestShardOf(t *testing.T) {
	counts := make([]int, 7)
	for i := range 7000 {
		s := shardOf("doc-"+string(rune('a'+i%26))+strings.Repeat("x", i%13)+string(rune(i)), 7)
		counts[s]++
	}
	for i, c := range counts {
		if c == 0 {
			t.Errorf("shard %d empty: %v", i, counts)
		}
	}
	if shardOf("abc", 7) != shardOf("abc", 7) {
		t.Error("not deterministic")
	}
	if got := ShardName("gs://b/out/emb", 3, 16); got != "gs://b/out/emb-00003-of-00016.jsonl" {
		t.Error(got)
	}
}

// TestModelCacheConcurrent: concurrent Setups of one configuration load the
// model once and share it.
func TestModelCacheConcurrent(t *testing.T) {
	dir := testdataPath(t, "models/bert-mini-embed")
	cfg := withDefaults(Config{Model: dir, Input: "i", Output: "o", Threads: 1, Batch: 7})
	var wg sync.WaitGroup
	encs := make([]encoder, 8)
	for i := range encs {
		wg.Go(func() {
			f := &embedFn{Cfg: cfg}
			if err := f.Setup(context.Background()); err != nil {
				t.Error(err)
			}
			encs[i] = f.enc
		})
	}
	wg.Wait()
	for _, e := range encs[1:] {
		if e != encs[0] {
			t.Fatal("Setups got different encoders")
		}
	}
	loads.Lock()
	n := loads.n[cacheKey(cfg)]
	loads.Unlock()
	if n != 1 {
		t.Errorf("%d loads, want 1", n)
	}
	bad := withDefaults(Config{Model: filepath.Join(t.TempDir(), "nope"), Input: "i", Output: "o"})
	if err := (&embedFn{Cfg: bad}).Setup(context.Background()); err == nil {
		t.Error("missing model loaded")
	}
}

// TestStageModel stages a model directory from an object store (memfs here,
// gs:// or s3:// on a cluster) once and loads it.
func TestStageModel(t *testing.T) {
	dir := testdataPath(t, "models/bert-mini-embed")
	uri := "memfs://models/bert-mini-embed"
	var n int
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		memfs.Write(uri+"/"+filepath.ToSlash(rel), data)
		n++
		return nil
	})
	local, err := stageModel(context.Background(), uri+"/")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(local) })
	var staged int
	filepath.WalkDir(local, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() == ".airvec-staged" {
			return err
		}
		rel, _ := filepath.Rel(local, p)
		a, _ := os.ReadFile(p)
		b, _ := os.ReadFile(filepath.Join(dir, rel))
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs", rel)
		}
		staged++
		return nil
	})
	if staged != n {
		t.Errorf("staged %d files, want %d", staged, n)
	}
	a, err := embed.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	b, err := embed.Load(local)
	if err != nil {
		t.Fatal(err)
	}
	va, _ := a.EmbedTexts(context.Background(), "staged model")
	vb, _ := b.EmbedTexts(context.Background(), "staged model")
	if cosine(va[0], vb[0]) < 0.999999 {
		t.Error("staged model embeds differently")
	}
	if again, err := stageModel(context.Background(), uri+"/"); err != nil || again != local {
		t.Errorf("second staging: %q %v", again, err)
	}
	if _, err := stageModel(context.Background(), "memfs://models/none"); err == nil {
		t.Error("empty model URI staged")
	}
}

// TestDenseTooLong: with truncation off, a document over max tokens is a
// too_long dead letter (dense models find it when tokenizing).
func TestDenseTooLong(t *testing.T) {
	dir := testdataPath(t, "models/bert-mini-embed")
	cfg := withDefaults(Config{Model: dir, Input: "i", Output: "o", MaxTokens: 8, Truncate: false})
	f := &embedFn{Cfg: cfg}
	if err := f.Setup(context.Background()); err != nil {
		t.Fatal(err)
	}
	var dead []DeadLetter
	var out []string
	emit := func(_ int, l string) { out = append(out, l) }
	deadFn := func(d DeadLetter) { dead = append(dead, d) }
	f.StartBundle(context.Background(), emit, deadFn)
	for i, text := range []string{"short one", "one two three four five six seven eight nine ten", ""} {
		d := Doc{ID: string(rune('a' + i)), Text: text, Source: "f:" + string(rune('1'+i))}
		if err := f.ProcessElement(context.Background(), d, emit, deadFn); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.FinishBundle(context.Background(), emit, deadFn); err != nil {
		t.Fatal(err)
	}
	if len(out) != 1 || !strings.HasPrefix(out[0], `{"id":"a","embedding":[`) {
		t.Errorf("output %q", out)
	}
	sort.Slice(dead, func(i, j int) bool { return dead[i].ID < dead[j].ID })
	if len(dead) != 2 || dead[0].Reason != ReasonTooLong || dead[0].ID != "b" || dead[1].Reason != ReasonEmptyText {
		t.Fatalf("dead letters %+v", dead)
	}
	if want := "InvalidParameter: embed: input has 12 tokens, more than the model's 8"; dead[0].Detail != want {
		t.Errorf("detail %q, want %q", dead[0].Detail, want)
	}
}

// TestQueryPrompt: --input_type query gets the model's query prompt, as
// airvec embed does (bert-zh-mini-embed has one).
func TestQueryPrompt(t *testing.T) {
	dir := testdataPath(t, "models/bert-zh-mini-embed")
	ctx := context.Background()
	texts := []string{"北京的天气", "a query", "搜索引擎向量"}
	lib, err := embed.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer lib.Close()
	if lib.Prompt("query") == "" {
		t.Fatal("fixture has no query prompt")
	}
	q, err := lib.EmbedQueries(ctx, texts...)
	if err != nil {
		t.Fatal(err)
	}
	d, err := lib.EmbedTexts(ctx, texts...)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range []struct {
		inputType string
		want      [][]float32
	}{{"query", q}, {"document", d}} {
		f := &embedFn{Cfg: withDefaults(Config{Model: dir, Input: "i", Output: "o", InputType: it.inputType})}
		if err := f.Setup(ctx); err != nil {
			t.Fatal(err)
		}
		got := map[string][]float32{}
		emit := func(_ int, l string) {
			var rec denseLine
			json.Unmarshal([]byte(l), &rec)
			got[rec.ID] = rec.Embedding
		}
		deadFn := func(d DeadLetter) { t.Errorf("dead letter %+v", d) }
		for i, text := range texts {
			f.ProcessElement(ctx, Doc{ID: strconv.Itoa(i), Text: text, Source: "f"}, emit, deadFn)
		}
		if err := f.FinishBundle(ctx, emit, deadFn); err != nil {
			t.Fatal(err)
		}
		for i := range texts {
			if cs := cosine(got[strconv.Itoa(i)], it.want[i]); cs < 0.999999 {
				t.Errorf("%s %d: cosine %.9f vs the library", it.inputType, i, cs)
			}
		}
	}
	if cosine(q[0], d[0]) > 0.999999 {
		t.Error("query and document vectors equal: prompt not applied")
	}
}
