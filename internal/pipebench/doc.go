// Package pipebench measures the whole pipeline end to end: the real api and worker binaries
// against PostgreSQL, Redis and an in-process SMTP sink. The one-batch and ten-batch scenarios
// also run on a literal peer (the textbook row pipeline, literal_test.go) in place of the
// worker, so that the service's figures read as ratios; another compares a batch into an
// organization of 200,000 accounts with one into a fresh organization.
// It holds only benchmarks; run them with `make bench`.
package pipebench
