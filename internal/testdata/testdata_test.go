package testdata

import "testing"

func TestRootHasModels(t *testing.T) {
	p := Path(t, "models")
	if p == "" {
		t.Fatal("empty path")
	}
}
