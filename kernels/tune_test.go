package kernels

import (
	"os"
	"strconv"
	"testing"
)

func TestMain(m *testing.M) {
	if v, err := strconv.Atoi(os.Getenv("AIRVEC_KC")); err == nil {
		kcMaxSteps = v
	}
	if v, err := strconv.Atoi(os.Getenv("AIRVEC_NC")); err == nil {
		ncPanels = v
	}
	if v, err := strconv.Atoi(os.Getenv("AIRVEC_MC")); err == nil {
		mcMaxTiles = v
	}
	if os.Getenv("AIRVEC_NOCOPY") == "1" {
		copyBadStrides = false
	}
	if os.Getenv("AIRVEC_VINPLACE") == "1" {
		attnPackV = false
	}
	os.Exit(m.Run())
}
