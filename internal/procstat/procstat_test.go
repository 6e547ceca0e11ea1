package procstat

import (
	"os"
	"testing"
)

func TestPeakRSS(t *testing.T) {
	if _, err := os.Stat("/proc/self/status"); err != nil {
		if PeakRSS() != 0 {
			t.Fatal("PeakRSS without /proc/self/status is not 0")
		}
		t.Skip("no /proc/self/status")
	}
	ballast := make([]byte, 64<<20)
	for i := range ballast {
		ballast[i] = 1
	}
	if r := PeakRSS(); r < 64<<20 {
		t.Errorf("PeakRSS %d bytes after touching 64 MiB", r)
	}
	if mb := PeakRSSMB(); mb < 64 {
		t.Errorf("PeakRSSMB %g", mb)
	}
	_ = ballast[len(ballast)-1]
}
