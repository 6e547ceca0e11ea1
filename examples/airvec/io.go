package main

import (
	"fmt"
	"io"
	"os"

	"github.com/airvec/airvec/internal/apierr"
)

// readRequest reads the request body from file (or stdin when file is "" or "-").
func readRequest(file string) ([]byte, error) {
	if file == "" || file == "-" {
		return io.ReadAll(os.Stdin)
	}
	return os.ReadFile(file)
}

// fail prints err as the service's error object on stdout and returns the
// exit code 1.
func fail(requestID string, err error) int {
	os.Stdout.Write(apierr.JSON(requestID, err))
	os.Stdout.Write([]byte("\n"))
	fmt.Fprintln(os.Stderr, "airvec:", err)
	return 1
}
