package weights

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// HubCacheDir is the Hugging Face hub cache: $HF_HUB_CACHE, else
// $HF_HOME/hub, else $XDG_CACHE_HOME/huggingface/hub, else
// ~/.cache/huggingface/hub (as huggingface_hub resolves it).
func HubCacheDir() string {
	if d := os.Getenv("HF_HUB_CACHE"); d != "" {
		return d
	}
	if d := os.Getenv("HF_HOME"); d != "" {
		return filepath.Join(d, "hub")
	}
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "huggingface", "hub")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(".cache", "huggingface", "hub")
	}
	return filepath.Join(home, ".cache", "huggingface", "hub")
}

// LooksLikeRepoID reports whether s has the form "org/name" (optionally
// "@revision"), as opposed to a filesystem path.
func LooksLikeRepoID(s string) bool {
	id, _, _ := strings.Cut(s, "@")
	org, name, ok := strings.Cut(id, "/")
	if !ok || org == "" || name == "" || strings.ContainsAny(name, "/\\") || strings.ContainsAny(org, "\\:") {
		return false
	}
	return !strings.HasPrefix(org, ".") && !strings.HasPrefix(name, ".") && !strings.HasPrefix(org, "~")
}

// ResolveRepo finds the snapshot directory of a model repo in the local
// Hugging Face cache: HubCacheDir()/models--ORG--NAME/snapshots/REV, where
// REV is the "@revision" suffix (a commit or a branch/tag in refs/), else
// refs/main, else the only snapshot, else the most recently modified one.
// Nothing is downloaded.
func ResolveRepo(id string) (string, error) {
	repo, rev, hasRev := strings.Cut(id, "@")
	if !LooksLikeRepoID(id) {
		return "", &Error{Kind: ErrNotFound, Path: id, Msg: "not a repo id (want org/name)"}
	}
	cache := HubCacheDir()
	base := filepath.Join(cache, "models--"+strings.ReplaceAll(repo, "/", "--"))
	notCached := func(msg string) error {
		return &Error{Kind: ErrNotFound, Path: id, Msg: fmt.Sprintf("%s in the Hugging Face cache %s (nothing is downloaded here: fetch it first with `airvec pull %s` or `huggingface-cli download %s`, or point HF_HOME / HF_HUB_CACHE at a cache that has it)", msg, cache, repo, repo)}
	}
	if st, err := os.Stat(base); err != nil || !st.IsDir() {
		return "", notCached("not a directory, and not")
	}
	snaps := filepath.Join(base, "snapshots")
	isSnap := func(r string) bool {
		if r == "" || strings.ContainsAny(r, "/\\") || r == "." || r == ".." {
			return false
		}
		st, err := os.Stat(filepath.Join(snaps, r))
		return err == nil && st.IsDir()
	}
	readRef := func(name string) string {
		if !filepath.IsLocal(name) {
			return ""
		}
		b, err := os.ReadFile(filepath.Join(base, "refs", filepath.FromSlash(name)))
		if err != nil {
			return ""
		}
		return strings.TrimSpace(string(b))
	}
	if hasRev {
		if isSnap(rev) {
			return filepath.Join(snaps, rev), nil
		}
		if r := readRef(rev); isSnap(r) {
			return filepath.Join(snaps, r), nil
		}
		return "", notCached(fmt.Sprintf("revision %q not", rev))
	}
	if r := readRef("main"); isSnap(r) {
		return filepath.Join(snaps, r), nil
	}
	ents, err := os.ReadDir(snaps)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", &Error{Path: snaps, Msg: "cannot list snapshots", Err: err}
	}
	best, bestTime := "", int64(0)
	for _, e := range ents {
		st, err := os.Stat(filepath.Join(snaps, e.Name()))
		if err != nil || !st.IsDir() {
			continue
		}
		if t := st.ModTime().UnixNano(); best == "" || t > bestTime || (t == bestTime && e.Name() > best) {
			best, bestTime = e.Name(), t
		}
	}
	if best == "" {
		return "", notCached("no snapshot")
	}
	return filepath.Join(snaps, best), nil
}
