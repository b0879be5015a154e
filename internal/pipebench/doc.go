// Package pipebench measures the whole pipeline end to end: the real api and worker binaries
// against PostgreSQL, Redis and an in-process SMTP sink. It holds only benchmarks; run them
// with `make bench`.
package pipebench
