module github.com/airvec/airvec

go 1.26

require (
	github.com/dlclark/regexp2 v1.11.5 // indirect
	github.com/klauspost/cpuid/v2 v2.3.0 // indirect
	golang.org/x/image v0.33.0 // indirect
	golang.org/x/sys v0.38.0 // indirect
	golang.org/x/text v0.31.0 // indirect
)
