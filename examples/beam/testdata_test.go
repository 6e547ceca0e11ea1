package main

import (
	"os"
	"path/filepath"
	"testing"
)

// testdataPath mirrors airvec's internal/testdata (which another module cannot
// import): fixtures live under $AIRVEC_TESTDATA, else ../shared beside the
// repository (../../../shared from this module); a missing fixture skips the
// test, or fails it under AIRVEC_REQUIRE_TESTDATA=1.
func testdataPath(t testing.TB, rel string) string {
	t.Helper()
	root := os.Getenv("AIRVEC_TESTDATA")
	if root == "" {
		root = filepath.Join("..", "..", "..", "shared")
	}
	p := filepath.Join(root, filepath.FromSlash(rel))
	if _, err := os.Stat(p); err != nil {
		msg := "fixture " + rel + " not found under " + root + " (set AIRVEC_TESTDATA to the shared fixtures directory)"
		if os.Getenv("AIRVEC_REQUIRE_TESTDATA") == "1" {
			t.Fatal(msg + "; AIRVEC_REQUIRE_TESTDATA=1")
		}
		t.Skip(msg)
	}
	return p
}
