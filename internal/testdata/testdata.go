// Package testdata locates the shared fixtures (../shared) for tests.
//
// The fixture root is $AIRVEC_TESTDATA when set, else the directory "shared"
// beside the module root (the directory holding go.mod). Tests call Dir or
// Path; when the fixtures are missing they skip with a message, unless
// AIRVEC_REQUIRE_TESTDATA=1, in which case they fail.
package testdata

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
)

var (
	rootOnce sync.Once
	root     string
)

// Root returns the fixture root directory, whether or not it exists.
func Root() string {
	rootOnce.Do(func() {
		if d := os.Getenv("AIRVEC_TESTDATA"); d != "" {
			root = d
			return
		}
		wd, err := os.Getwd()
		if err != nil {
			root = "shared"
			return
		}
		for dir := wd; ; {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				// Nested modules (examples/beam) have their own go.mod: keep
				// walking up while the parent also holds a go.mod.
				if _, err := os.Stat(filepath.Join(filepath.Dir(dir), "go.mod")); err == nil && filepath.Dir(dir) != dir {
					dir = filepath.Dir(dir)
					continue
				}
				root = filepath.Join(filepath.Dir(dir), "shared")
				return
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				root = filepath.Join(wd, "shared")
				return
			}
			dir = parent
		}
	})
	return root
}

// Required reports whether AIRVEC_REQUIRE_TESTDATA=1 is set.
func Required() bool { return os.Getenv("AIRVEC_REQUIRE_TESTDATA") == "1" }

// Path returns the fixture path rel (slash-separated, relative to the
// fixture root). If it does not exist the test is skipped, or fails when
// AIRVEC_REQUIRE_TESTDATA=1.
func Path(t testing.TB, rel string) string {
	t.Helper()
	p := filepath.Join(Root(), filepath.FromSlash(rel))
	if _, err := os.Stat(p); err != nil {
		msg := "fixture " + rel + " not found under " + Root() + " (set AIRVEC_TESTDATA to the shared fixtures directory)"
		if Required() {
			t.Fatal(msg + "; AIRVEC_REQUIRE_TESTDATA=1")
		}
		t.Skip(msg)
	}
	return p
}

// Dir is Path for the fixture root itself.
func Dir(t testing.TB) string { return Path(t, ".") }
