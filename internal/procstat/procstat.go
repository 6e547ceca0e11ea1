// Package procstat reads the process's own resource figures for the
// benchmarks (bench, airvec bench, model benchmarks).
package procstat

import (
	"os"
	"strconv"
	"strings"
)

// PeakRSS is the process's peak resident set in bytes (VmHWM of
// /proc/self/status), or 0 where that file does not exist.
func PeakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// PeakRSSMB is PeakRSS in MiB.
func PeakRSSMB() float64 { return float64(PeakRSS()) / (1 << 20) }
