package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

func uploadFlags(fs *flag.FlagSet) func(ctx context.Context, c *client, args []string, stdout, stderr io.Writer) int {
	org := fs.String("org", "", "organization id (required)")
	group := fs.String("permission-group", "", "permission group id (required)")
	invite := fs.Bool("invite", false, "Import & Invite: send the invitation emails now")
	dryRun := fs.Bool("dry-run", false, "check the file only and list its errors (with --invite, also whether the organization has a free number for every row that needs one); store nothing")
	wait := fs.Bool("wait", false, "wait until the batch finishes, showing its progress as it goes, then save the report")
	report := fs.String("report", "", "where to save the report with --wait (default batch-<id>-report.csv)")
	poll := fs.Duration("poll", time.Second, "how often to ask for progress with --wait when the batch's event stream cannot be followed")
	return func(ctx context.Context, c *client, args []string, stdout, stderr io.Writer) int {
		if len(args) != 1 {
			return fail(stderr, usagef("the upload command takes one FILE, got %d arguments", len(args)))
		}
		if *org == "" || *group == "" {
			return fail(stderr, usagef("the upload command needs --org and --permission-group"))
		}
		if *report != "" && !*wait {
			return fail(stderr, usagef("--report needs --wait: the report is ready when the batch finishes"))
		}
		fields := map[string]string{"permission_group": *group, "invite": strconv.FormatBool(*invite)}
		if *dryRun {
			fields["dry_run"] = "true"
		}
		b, err := c.upload(ctx, *org, args[0], fields)
		var ae *apiError
		if errors.As(err, &ae) && ae.Status >= 400 && ae.Status < 500 {
			fail(stderr, err)
			return exitUsage // the file (or the request) itself is refused: nothing was stored
		}
		if err != nil {
			return fail(stderr, err)
		}
		if *dryRun {
			return printDryRun(b, stdout, stderr)
		}
		var bt batch
		if err := decode(b, &bt); err != nil {
			return fail(stderr, err)
		}
		fmt.Fprintf(stdout, "Batch %s: %d %s accepted (%s)\n", bt.ID, bt.Total, plural(bt.Total, "row", "rows"), bt.Status)
		for _, n := range bt.Notices {
			fmt.Fprintf(stdout, "Note: %s\n", n)
		}
		if !*wait {
			return exitOK
		}
		done, err := waitBatch(ctx, c, bt, *poll, stdout, isTerminal(stdout))
		if err != nil {
			return fail(stderr, err)
		}
		path := *report
		if path == "" {
			path = "batch-" + done.ID + "-report.csv"
		}
		if err := saveReport(ctx, c, done.ID, path); err != nil {
			return fail(stderr, err)
		}
		fmt.Fprintf(stdout, "Batch %s %s: %d succeeded, %d failed, %d canceled of %d; report saved to %s\n",
			done.ID, done.Status, done.Succeeded, done.Failed, done.Canceled, done.Total, path)
		if done.Succeeded != done.Total {
			return exitFailed
		}
		return exitOK
	}
}

// printDryRun lists a dry run's errors and warnings; exit 1 when any row is invalid or
// the organization has too few free numbers for the rows that need one.
func printDryRun(b []byte, stdout, stderr io.Writer) int {
	type rowProblem struct {
		Row     int    `json:"row"`
		Column  string `json:"column"`
		Message string `json:"message"`
	}
	var r struct {
		Total    int          `json:"total"`
		Valid    int          `json:"valid"`
		Invalid  int          `json:"invalid"`
		Notices  []string     `json:"notices"`
		Errors   []rowProblem `json:"errors"`
		Warnings []rowProblem `json:"warnings"`
		Numbers  struct {
			Needed    int `json:"needed"`
			Available int `json:"available"`
			Shortfall int `json:"shortfall"`
		} `json:"numbers"`
	}
	if err := decode(b, &r); err != nil {
		return fail(stderr, err)
	}
	for _, e := range r.Errors {
		fmt.Fprintf(stdout, "Row %d\t%s\t%s\n", e.Row, e.Column, e.Message)
	}
	for _, w := range r.Warnings {
		fmt.Fprintf(stdout, "Row %d\t%s\tWarning: %s\n", w.Row, w.Column, w.Message)
	}
	for _, n := range r.Notices {
		fmt.Fprintf(stdout, "Note: %s\n", n)
	}
	fmt.Fprintf(stdout, "%d %s: %d ready to import, %d with problems\n", r.Total, plural(r.Total, "row", "rows"), r.Valid, r.Invalid)
	if n := r.Numbers; n.Shortfall > 0 {
		fmt.Fprintf(stdout, "Numbers: %d %s a free number, only %d available: about %d %s will fail with no number\n",
			n.Needed, plural(n.Needed, "row needs", "rows need"), n.Available, n.Shortfall, plural(n.Shortfall, "row", "rows"))
	} else if n.Needed > 0 {
		fmt.Fprintf(stdout, "Numbers: %d %s a free number, %d available\n", n.Needed, plural(n.Needed, "row needs", "rows need"), n.Available)
	}
	if r.Invalid > 0 || r.Numbers.Shortfall > 0 {
		return exitFailed
	}
	return exitOK
}

// reportFormat is the report format a file name asks for: "xlsx" for a .xlsx name, else "csv".
func reportFormat(path string) string {
	if strings.EqualFold(filepath.Ext(path), ".xlsx") {
		return "xlsx"
	}
	return "csv"
}

// saveReport writes the batch's report to path ("-" for stdout is not offered: the summary
// goes there).
func saveReport(ctx context.Context, c *client, id, path string) error {
	b, err := c.report(ctx, id, reportFormat(path))
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("save report: %w", err)
	}
	return nil
}
