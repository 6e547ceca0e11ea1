package main

import (
	"bytes"
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// fakeHub serves one repo the way the HF hub does: /api/models/{repo}/revision/{rev}
// and /{repo}/resolve/{commit}/{file} with ETag / X-Linked-Etag and Range support.
type fakeHub struct {
	mu          sync.Mutex
	files       map[string][]byte
	lfs         map[string]bool
	cutOnce     map[string]int // cut the first full download of a file after n bytes
	rangeSeen   map[string]string
	corruptOnce map[string]bool
}

const fakeCommit = "0123456789abcdef0123456789abcdef01234567"

func (h *fakeHub) etag(name string) string {
	b := h.files[name]
	if h.lfs[name] {
		s := sha256.Sum256(b)
		return hex.EncodeToString(s[:])
	}
	s := sha1.New()
	fmt.Fprintf(s, "blob %d\x00", len(b))
	s.Write(b)
	return hex.EncodeToString(s.Sum(nil))
}

func (h *fakeHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if strings.HasPrefix(r.URL.Path, "/api/models/org/model/revision/") {
		var info hubModelInfo
		info.SHA = fakeCommit
		for _, n := range sortedKeys(h.files) {
			info.Siblings = append(info.Siblings, struct {
				RFilename string `json:"rfilename"`
			}{n})
		}
		json.NewEncoder(w).Encode(info)
		return
	}
	prefix := "/org/model/resolve/" + fakeCommit + "/"
	name, ok := strings.CutPrefix(r.URL.Path, prefix)
	b, exists := h.files[name]
	if !ok || !exists {
		http.NotFound(w, r)
		return
	}
	if h.lfs[name] {
		w.Header().Set("X-Linked-Etag", `"`+h.etag(name)+`"`)
		w.Header().Set("X-Linked-Size", strconv.Itoa(len(b)))
	} else {
		w.Header().Set("ETag", `"`+h.etag(name)+`"`)
	}
	rg := r.Header.Get("Range")
	if rg == "bytes=0-0" {
		w.Header().Set("Content-Range", fmt.Sprintf("bytes 0-0/%d", len(b)))
		w.WriteHeader(206)
		w.Write(b[:1])
		return
	}
	if rg != "" {
		h.rangeSeen[name] = rg
		var from int
		fmt.Sscanf(rg, "bytes=%d-", &from)
		w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", from, len(b)-1, len(b)))
		w.WriteHeader(206)
		w.Write(b[from:])
		return
	}
	if h.corruptOnce[name] {
		delete(h.corruptOnce, name)
		bad := bytes.Clone(b)
		bad[0] ^= 0xff
		w.Write(bad)
		return
	}
	if n, ok := h.cutOnce[name]; ok {
		delete(h.cutOnce, name)
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		w.Write(b[:n])
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler) // drop the connection mid-body
	}
	w.Write(b)
}

func TestPullResumeAndVerify(t *testing.T) {
	big := bytes.Repeat([]byte("airvec weights "), 20000)
	hub := &fakeHub{
		files: map[string][]byte{
			"config.json":           []byte(`{"model_type":"bert"}`),
			"model.safetensors":     big,
			"model.onnx":            []byte("skipped by default"),
			"1_Pooling/config.json": []byte(`{"pooling_mode_cls_token":true}`),
		},
		lfs:         map[string]bool{"model.safetensors": true},
		cutOnce:     map[string]int{"model.safetensors": 100000},
		rangeSeen:   map[string]string{},
		corruptOnce: map[string]bool{"config.json": true},
	}
	ts := httptest.NewServer(hub)
	defer ts.Close()
	cache := t.TempDir()
	p := &puller{endpoint: ts.URL, client: ts.Client(), cache: cache, skip: defaultPullSkip}
	ctx := context.Background()

	// First try: config.json arrives corrupt -> checksum error.
	if _, err := p.pull(ctx, "org/model", "main"); err == nil || !strings.Contains(err.Error(), "checksum") {
		t.Fatalf("corrupt file accepted: %v", err)
	}
	// Second: the safetensors download is cut mid-way.
	if _, err := p.pull(ctx, "org/model", "main"); err == nil {
		t.Fatal("interrupted download reported success")
	}
	repoDir := filepath.Join(cache, "models--org--model")
	partial, _ := filepath.Glob(filepath.Join(repoDir, "blobs", "*.incomplete"))
	if len(partial) != 1 {
		t.Fatalf("want one partial blob, got %v", partial)
	}
	// Third: resumes with a Range request and completes.
	snap, err := p.pull(ctx, "org/model", "main")
	if err != nil {
		t.Fatal(err)
	}
	if hub.rangeSeen["model.safetensors"] != "bytes=100000-" {
		t.Errorf("resume range %q", hub.rangeSeen["model.safetensors"])
	}
	if snap != filepath.Join(repoDir, "snapshots", fakeCommit) {
		t.Errorf("snapshot %s", snap)
	}
	got, err := os.ReadFile(filepath.Join(snap, "model.safetensors"))
	if err != nil || !bytes.Equal(got, big) {
		t.Fatalf("model.safetensors: %v (len %d)", err, len(got))
	}
	if b, _ := os.ReadFile(filepath.Join(snap, "1_Pooling", "config.json")); !bytes.Contains(b, []byte("cls")) {
		t.Errorf("nested file: %q", b)
	}
	if _, err := os.Stat(filepath.Join(snap, "model.onnx")); err == nil {
		t.Error("model.onnx should be skipped by default")
	}
	if ref, _ := os.ReadFile(filepath.Join(repoDir, "refs", "main")); string(ref) != fakeCommit {
		t.Errorf("refs/main = %q", ref)
	}
	// A fourth pull is a no-op.
	if _, err := p.pull(ctx, "org/model", "main"); err != nil {
		t.Fatal(err)
	}
}

func TestPullRejectsBadNames(t *testing.T) {
	for _, n := range []string{"../x", "/etc/passwd", "a/../../b", ""} {
		if localName(n) {
			t.Errorf("localName(%q) = true", n)
		}
	}
	for _, r := range []string{"noslash", "a/b/c", "../b", "a/..", ""} {
		if validRepoID(r) {
			t.Errorf("validRepoID(%q) = true", r)
		}
	}
}
