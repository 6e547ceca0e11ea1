package imageproc

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// Fetcher downloads an http(s) image URL. airvec never fetches on its own:
// callers that want remote images supply one (and own its timeouts, size
// limits and allow-lists). It must be safe for concurrent use.
type Fetcher func(ctx context.Context, url string) ([]byte, error)

// Options control Load.
type Options struct {
	// MaxPixels bounds width·height of a decoded image (≤ 0:
	// DefaultMaxPixels).
	MaxPixels int
	// MaxBytes bounds the encoded size read from files or returned by the
	// fetcher (≤ 0: DefaultMaxBytes).
	MaxBytes int
	// Fetch, if non-nil, is called for http:// and https:// inputs;
	// nil refuses them with ErrNoFetcher.
	Fetch Fetcher
	// NoFiles refuses local paths and file:// URLs (for servers that take
	// requests from untrusted clients).
	NoFiles bool
}

// DefaultMaxBytes is the default limit on an encoded image's size.
const DefaultMaxBytes = 64 << 20

// Load resolves one image input as the service takes it and decodes it:
//
//   - "data:image/<fmt>;base64,<data>" (the format in the URI is not
//     trusted; the bytes are sniffed),
//   - "http://…", "https://…" through o.Fetch,
//   - "file:///path" or a local path,
//   - anything else as plain base64 (standard or URL alphabet, padding
//     optional, whitespace ignored).
func Load(ctx context.Context, src string, o Options) (*RGB, error) {
	data, err := Read(ctx, src, o)
	if err != nil {
		return nil, err
	}
	return Decode(data, o.MaxPixels)
}

// Read returns the encoded bytes of an image input (see Load).
func Read(ctx context.Context, src string, o Options) ([]byte, error) {
	maxBytes := o.MaxBytes
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	s := strings.TrimSpace(src)
	if s == "" {
		return nil, fmt.Errorf("imageproc: %w", ErrEmpty)
	}
	lower := strings.ToLower(s[:min(len(s), 16)])
	switch {
	case strings.HasPrefix(lower, "data:"):
		comma := strings.IndexByte(s, ',')
		if comma < 0 {
			return nil, fmt.Errorf("imageproc: %w: data URI without a comma", ErrBadBase64)
		}
		meta := strings.ToLower(s[5:comma])
		if !strings.HasSuffix(meta, ";base64") {
			return nil, fmt.Errorf("imageproc: %w: data URI is not base64 (want data:image/<format>;base64,...)", ErrBadBase64)
		}
		if mt := strings.TrimSuffix(meta, ";base64"); mt != "" && !strings.HasPrefix(mt, "image/") {
			return nil, fmt.Errorf("imageproc: %w: data URI media type %q is not an image", ErrUnsupported, mt)
		}
		return decodeBase64(s[comma+1:], maxBytes)
	case strings.HasPrefix(lower, "http://"), strings.HasPrefix(lower, "https://"):
		if o.Fetch == nil {
			return nil, fmt.Errorf("imageproc: %w: airvec makes no network calls; supply an image fetcher (multimodal.WithFetcher) or pass the image as base64", ErrNoFetcher)
		}
		b, err := o.Fetch(ctx, s)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, fmt.Errorf("imageproc: %w: %v", ErrFetch, err)
		}
		if len(b) > maxBytes {
			return nil, fmt.Errorf("imageproc: %w: fetched %d bytes, over the limit of %d", ErrTooLarge, len(b), maxBytes)
		}
		return b, nil
	case strings.HasPrefix(lower, "file://"):
		u, err := url.Parse(s)
		if err != nil || (u.Host != "" && u.Host != "localhost") {
			return nil, fmt.Errorf("imageproc: %w: bad file URL %q", ErrFile, clip(s))
		}
		return readFile(u.Path, o.NoFiles, maxBytes)
	}
	if looksLikePath(s) {
		if _, err := os.Stat(s); err == nil || !looksLikeBase64(s) {
			return readFile(s, o.NoFiles, maxBytes)
		}
	}
	return decodeBase64(s, maxBytes)
}

// looksLikePath: short, single-line, and with a path separator or an image
// file extension.
func looksLikePath(s string) bool {
	if len(s) > 4096 || strings.ContainsAny(s, "\n\r") {
		return false
	}
	if filepath.IsAbs(s) || strings.HasPrefix(s, "./") || strings.HasPrefix(s, "../") || strings.HasPrefix(s, "~") ||
		(os.PathSeparator != '/' && strings.ContainsRune(s, os.PathSeparator)) {
		return true
	}
	l := strings.ToLower(s)
	for _, ext := range []string{".jpg", ".jpeg", ".png", ".gif", ".webp", ".bmp", ".tif", ".tiff"} {
		if strings.HasSuffix(l, ext) {
			return true
		}
	}
	return false
}

func looksLikeBase64(s string) bool {
	for _, c := range s {
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '+', c == '/', c == '=', c == '-', c == '_':
		default:
			return false
		}
	}
	return len(s) >= 16
}

func readFile(path string, refused bool, maxBytes int) ([]byte, error) {
	if refused {
		return nil, fmt.Errorf("imageproc: %w: local files are disabled", ErrFile)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("imageproc: %w: %v", ErrFile, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, int64(maxBytes)+1))
	if err != nil {
		return nil, fmt.Errorf("imageproc: %w: %v", ErrFile, err)
	}
	if len(b) > maxBytes {
		return nil, fmt.Errorf("imageproc: %w: file %s is over the limit of %d bytes", ErrTooLarge, path, maxBytes)
	}
	return b, nil
}

func decodeBase64(s string, maxBytes int) ([]byte, error) {
	if strings.ContainsAny(s, " \t\r\n") {
		s = strings.Map(func(r rune) rune {
			if r == ' ' || r == '\t' || r == '\r' || r == '\n' {
				return -1
			}
			return r
		}, s)
	}
	if base64.StdEncoding.DecodedLen(len(s)) > maxBytes+3 {
		return nil, fmt.Errorf("imageproc: %w: base64 data of %d bytes is over the limit of %d bytes", ErrTooLarge, len(s), maxBytes)
	}
	enc := base64.StdEncoding
	if strings.ContainsAny(s, "-_") {
		enc = base64.URLEncoding
	}
	if !strings.HasSuffix(s, "=") {
		enc = enc.WithPadding(base64.NoPadding)
	}
	b, err := enc.DecodeString(s)
	if err != nil {
		var ce base64.CorruptInputError
		if errors.As(err, &ce) {
			return nil, fmt.Errorf("imageproc: %w: illegal data at byte %d", ErrBadBase64, int64(ce))
		}
		return nil, fmt.Errorf("imageproc: %w: %v", ErrBadBase64, err)
	}
	if len(b) == 0 {
		return nil, fmt.Errorf("imageproc: %w", ErrEmpty)
	}
	return b, nil
}

func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
