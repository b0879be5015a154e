package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/rs/zerolog"
)

func TestLogMigrated(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		applied []int64
		want    []string
		mustNot string
	}{
		{"fresh database", []int64{1, 2, 3}, []string{`"applied":[1,2,3]`, `"version":3`, "applied 3 migrations, database now at version 3"}, "up to date"},
		{"one pending", []int64{12}, []string{"applied 1 migration, database now at version 12"}, "up to date"},
		{"nothing to apply", nil, []string{"database is up to date"}, `"applied"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			logMigrated(zerolog.New(&buf), tc.applied)
			got := buf.String()
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("got %s, want %q in it", got, w)
				}
			}
			if strings.Contains(got, tc.mustNot) {
				t.Errorf("got %s, want no %q in it", got, tc.mustNot)
			}
		})
	}
}
