package main

// airvec pull org/name: download a model from a Hugging Face-compatible hub
// into the standard HF cache layout ($HF_HUB_CACHE or $HF_HOME/hub):
//
//	models--org--name/blobs/<etag>
//	models--org--name/snapshots/<commit>/<file> -> ../../blobs/<etag>
//	models--org--name/refs/<revision>           (the commit)
//
// Downloads resume from blobs/<etag>.incomplete with an HTTP Range request,
// and every file is verified: sha256 for LFS files (their ETag), the git blob
// sha1 for small files.

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

func init() {
	register("pull", "download a model from a Hugging Face-compatible hub into the HF cache", runPull)
}

func hubCacheDir() string {
	if d := os.Getenv("HF_HUB_CACHE"); d != "" {
		return d
	}
	if d := os.Getenv("HF_HOME"); d != "" {
		return filepath.Join(d, "hub")
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".cache", "huggingface", "hub")
}

// defaultPullSkip are files airvec never reads; skipping them saves gigabytes.
var defaultPullSkip = []string{"*.onnx", "*.onnx_data", "*.h5", "*.msgpack", "*.ot", "*.tflite", "*.gguf", "*.mlmodel", "onnx/*", "openvino/*", "coreml/*", "*.md", ".gitattributes"}

type puller struct {
	endpoint string
	token    string
	client   *http.Client
	cache    string
	progress io.Writer // nil = quiet
	skip     []string
}

type hubModelInfo struct {
	SHA      string `json:"sha"`
	Siblings []struct {
		RFilename string `json:"rfilename"`
	} `json:"siblings"`
}

func (p *puller) get(ctx context.Context, u string, hdr map[string]string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", u, nil)
	if err != nil {
		return nil, err
	}
	if p.token != "" {
		req.Header.Set("Authorization", "Bearer "+p.token)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	return p.client.Do(req)
}

func validRepoID(repo string) bool {
	org, name, ok := strings.Cut(repo, "/")
	ok = ok && org != "" && name != "" && !strings.Contains(name, "/")
	for _, part := range []string{org, name} {
		ok = ok && part != "." && part != ".." && !strings.ContainsAny(part, `\:`)
	}
	return ok
}

// pull downloads repo at revision and returns the snapshot directory.
func (p *puller) pull(ctx context.Context, repo, revision string) (string, error) {
	if !validRepoID(repo) {
		return "", fmt.Errorf("repo id %q: want org/name", repo)
	}
	infoURL := fmt.Sprintf("%s/api/models/%s/revision/%s", p.endpoint, repo, url.PathEscape(revision))
	resp, err := p.get(ctx, infoURL, nil)
	if err != nil {
		return "", err
	}
	var info hubModelInfo
	err = json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(&info)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return "", fmt.Errorf("%s: %s", infoURL, resp.Status)
	}
	if err != nil {
		return "", fmt.Errorf("%s: %v", infoURL, err)
	}
	if info.SHA == "" || strings.ContainsAny(info.SHA, `/\.`) {
		return "", fmt.Errorf("%s: no usable commit sha", infoURL)
	}
	repoDir := filepath.Join(p.cache, "models--"+strings.ReplaceAll(repo, "/", "--"))
	snap := filepath.Join(repoDir, "snapshots", info.SHA)
	for _, d := range []string{filepath.Join(repoDir, "blobs"), snap, filepath.Join(repoDir, "refs")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return "", err
		}
	}
	for _, s := range info.Siblings {
		name := s.RFilename
		if !localName(name) {
			return "", fmt.Errorf("refusing file name %q", name)
		}
		if p.skipped(name) {
			continue
		}
		if err := p.fetchFile(ctx, repo, info.SHA, repoDir, snap, name); err != nil {
			return "", fmt.Errorf("%s: %w", name, err)
		}
	}
	if err := os.WriteFile(filepath.Join(repoDir, "refs", filepath.Base(revision)), []byte(info.SHA), 0o644); err != nil {
		return "", err
	}
	return snap, nil
}

// localName rejects names that would escape the snapshot directory.
func localName(name string) bool {
	return name != "" && filepath.IsLocal(filepath.FromSlash(name)) && !strings.Contains(name, `\`)
}

func (p *puller) skipped(name string) bool {
	for _, pat := range p.skip {
		if ok, _ := path.Match(pat, name); ok {
			return true
		}
		if ok, _ := path.Match(pat, path.Base(name)); ok && !strings.Contains(pat, "/") {
			return true
		}
	}
	return false
}

func (p *puller) fetchFile(ctx context.Context, repo, commit, repoDir, snap, name string) error {
	link := filepath.Join(snap, filepath.FromSlash(name))
	if _, err := os.Stat(link); err == nil {
		return nil // already in the snapshot
	}
	fileURL := fmt.Sprintf("%s/%s/resolve/%s/%s", p.endpoint, repo, commit, name)
	// HEAD-like probe: a GET of zero bytes gives the ETag without the body.
	resp, err := p.get(ctx, fileURL, map[string]string{"Range": "bytes=0-0"})
	if err != nil {
		return err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<10))
	resp.Body.Close()
	if resp.StatusCode != 200 && resp.StatusCode != 206 {
		return fmt.Errorf("%s: %s", fileURL, resp.Status)
	}
	etag, lfs := fileETag(resp.Header)
	if etag == "" || strings.ContainsAny(etag, `/\.`) {
		return fmt.Errorf("%s: no usable ETag", fileURL)
	}
	size := int64(-1)
	if v := resp.Header.Get("X-Linked-Size"); v != "" {
		size, _ = strconv.ParseInt(v, 10, 64)
	} else if cr := resp.Header.Get("Content-Range"); cr != "" {
		if i := strings.LastIndexByte(cr, '/'); i >= 0 {
			size, _ = strconv.ParseInt(cr[i+1:], 10, 64)
		}
	}
	blob := filepath.Join(repoDir, "blobs", etag)
	if _, err := os.Stat(blob); err != nil {
		if err := p.download(ctx, fileURL, blob, name, etag, lfs, size); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		return err
	}
	rel, err := filepath.Rel(filepath.Dir(link), blob)
	if err != nil {
		return err
	}
	return os.Symlink(rel, link)
}

// fileETag returns the file's ETag (X-Linked-Etag for LFS files) unquoted,
// and whether it is an LFS sha256.
func fileETag(h http.Header) (string, bool) {
	if v := h.Get("X-Linked-Etag"); v != "" {
		return strings.Trim(strings.TrimPrefix(v, "W/"), `"`), true
	}
	v := strings.Trim(strings.TrimPrefix(h.Get("ETag"), "W/"), `"`)
	return v, len(v) == 64
}

func (p *puller) download(ctx context.Context, fileURL, blob, name, etag string, lfs bool, size int64) error {
	part := blob + ".incomplete"
	f, err := os.OpenFile(part, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	have, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return err
	}
	hdr := map[string]string{}
	if have > 0 {
		hdr["Range"] = fmt.Sprintf("bytes=%d-", have)
	}
	resp, err := p.get(ctx, fileURL, hdr)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == 206 && have > 0:
	case resp.StatusCode == 200:
		// Server ignored the range: start over.
		if err := f.Truncate(0); err != nil {
			return err
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return err
		}
		have = 0
	case resp.StatusCode == 416 && have > 0 && have == size:
		// Already complete.
	default:
		return fmt.Errorf("%s: %s", fileURL, resp.Status)
	}
	var w io.Writer = f
	var bar *progressBar
	if p.progress != nil {
		bar = &progressBar{out: p.progress, name: name, total: size, done: have, start: time.Now()}
		w = io.MultiWriter(f, bar)
	}
	if resp.StatusCode != 416 {
		if _, err := io.Copy(w, resp.Body); err != nil {
			return fmt.Errorf("download interrupted after %d bytes (run pull again to resume): %w", bar.bytes(have), err)
		}
	}
	if bar != nil {
		bar.finish()
	}
	// Verify the whole file.
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	n, sum, err := checksum(f, lfs)
	if err != nil {
		return err
	}
	if size >= 0 && n != size {
		return fmt.Errorf("size %d, want %d", n, size)
	}
	if sum != etag {
		os.Remove(part) // corrupt: do not resume from it
		return fmt.Errorf("checksum mismatch: got %s, want %s", sum, etag)
	}
	return os.Rename(part, blob)
}

// checksum is sha256 for LFS files and git's blob sha1 otherwise.
func checksum(f *os.File, lfs bool) (int64, string, error) {
	st, err := f.Stat()
	if err != nil {
		return 0, "", err
	}
	var h hash.Hash
	if lfs {
		h = sha256.New()
	} else {
		h = sha1.New()
		fmt.Fprintf(h, "blob %d\x00", st.Size())
	}
	n, err := io.Copy(h, f)
	return n, hex.EncodeToString(h.Sum(nil)), err
}

type progressBar struct {
	out         io.Writer
	name        string
	total, done int64
	start, last time.Time
}

func (b *progressBar) bytes(def int64) int64 {
	if b == nil {
		return def
	}
	return b.done
}

func (b *progressBar) Write(p []byte) (int, error) {
	b.done += int64(len(p))
	if now := time.Now(); now.Sub(b.last) > 200*time.Millisecond {
		b.last = now
		b.draw()
	}
	return len(p), nil
}

func (b *progressBar) draw() {
	if b.total > 0 {
		pct := float64(b.done) / float64(b.total)
		n := int(pct * 30)
		fmt.Fprintf(b.out, "\r%-40.40s [%-30s] %5.1f%% %s", b.name, strings.Repeat("=", n), 100*pct, humanBytes(b.done))
	} else {
		fmt.Fprintf(b.out, "\r%-40.40s %s", b.name, humanBytes(b.done))
	}
}

func (b *progressBar) finish() { b.draw(); fmt.Fprintln(b.out) }

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func runPull(args []string) int {
	fs := flag.NewFlagSet("pull", flag.ContinueOnError)
	revision := fs.String("revision", "main", "branch, tag or commit")
	endpoint := fs.String("endpoint", "", "hub endpoint (default $HF_ENDPOINT, else https://huggingface.co)")
	all := fs.Bool("all", false, "download every file (default skips ONNX/TF/Flax/GGUF/OpenVINO/CoreML files and docs)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: airvec pull [-revision REV] [-all] org/name")
		return 2
	}
	ep := *endpoint
	if ep == "" {
		ep = os.Getenv("HF_ENDPOINT")
	}
	if ep == "" {
		ep = "https://huggingface.co"
	}
	p := &puller{endpoint: strings.TrimRight(ep, "/"), token: os.Getenv("HF_TOKEN"), client: &http.Client{}, cache: hubCacheDir()}
	if !*all {
		p.skip = defaultPullSkip
	}
	if isTerminal(os.Stderr) {
		p.progress = os.Stderr
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	snap, err := p.pull(ctx, fs.Arg(0), *revision)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			fmt.Fprintln(os.Stderr, "airvec pull: interrupted; run it again to resume")
		} else {
			fmt.Fprintln(os.Stderr, "airvec pull:", err)
		}
		return 1
	}
	fmt.Println(snap)
	return 0
}
