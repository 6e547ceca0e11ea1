//go:build !(cuda && cgo)

package cuda

import (
	"errors"
	"testing"
)

func TestStub(t *testing.T) {
	if Available() {
		t.Fatal("stub reports a device")
	}
	if _, err := Open(0); !errors.Is(err, ErrNotBuilt) {
		t.Fatalf("Open: %v, want ErrNotBuilt", err)
	}
	var d *Device
	if err := d.MatMul(nil, nil, 1, nil, 1, 1, nil, ActNone); !errors.Is(err, ErrNotBuilt) {
		t.Fatalf("MatMul: %v", err)
	}
}
