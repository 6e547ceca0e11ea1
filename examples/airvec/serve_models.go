package main

import (
	"flag"
	"fmt"
)

// modelFlags are the load options shared by serve's models.
type modelFlags struct {
	precision *string
	threads   *int
}

func addModelFlags(fs *flag.FlagSet) *modelFlags {
	return &modelFlags{
		precision: fs.String("precision", "fp32", "compute precision: fp32 or bf16"),
		threads:   fs.Int("threads", 0, "worker threads per model (0 = all cores)"),
	}
}

// loadService loads dir and attaches the route handlers its model kind answers.
func loadService(id, dir string, mf *modelFlags) (*service, error) {
	return nil, fmt.Errorf("model kinds are wired as the task packages land")
}
