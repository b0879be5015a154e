package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"
)

func batchesFlags(fs *flag.FlagSet) func(ctx context.Context, c *client, args []string, stdout, stderr io.Writer) int {
	org := fs.String("org", "", "organization id (required)")
	return func(ctx context.Context, c *client, args []string, stdout, stderr io.Writer) int {
		if *org == "" || len(args) != 0 {
			return fail(stderr, usagef("the batches command takes --org and no arguments"))
		}
		var r struct {
			Batches []batch `json:"batches"`
		}
		if err := c.getJSON(ctx, "/v1/organizations/"+pathEscape(*org)+"/batches", &r); err != nil {
			return fail(stderr, err)
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tCREATED\tSTATUS\tINVITE\tTOTAL\tSUCCEEDED\tFAILED\tCANCELED\tFILE")
		for _, b := range r.Batches {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%t\t%d\t%d\t%d\t%d\t%s\n", b.ID, formatTime(b.CreatedAt, time.Local),
				b.Status, b.Invite, b.Total, b.Succeeded, b.Failed, b.Canceled, b.Filename)
		}
		return flush(tw, stderr)
	}
}

func reportFlags(fs *flag.FlagSet) func(ctx context.Context, c *client, args []string, stdout, stderr io.Writer) int {
	out := fs.String("o", "", `where to save the report (default batch-<id>-report.csv; "-" for stdout); a .xlsx name saves the workbook`)
	xlsx := fs.Bool("xlsx", false, "the report as an Excel workbook (default name batch-<id>-report.xlsx)")
	return func(ctx context.Context, c *client, args []string, stdout, stderr io.Writer) int {
		if len(args) != 1 {
			return fail(stderr, usagef("the report command takes one batch ID"))
		}
		id := args[0]
		if *out == "-" {
			format := "csv"
			if *xlsx {
				format = "xlsx"
			}
			b, err := c.report(ctx, id, format)
			if err != nil {
				return fail(stderr, err)
			}
			_, _ = stdout.Write(b)
			return exitOK
		}
		path := *out
		if path == "" {
			path = "batch-" + id + "-report.csv"
			if *xlsx {
				path = "batch-" + id + "-report.xlsx"
			}
		}
		if *xlsx && reportFormat(path) != "xlsx" {
			return fail(stderr, usagef("--xlsx saves a workbook: give -o a name ending in .xlsx, or leave -o out"))
		}
		if err := saveReport(ctx, c, id, path); err != nil {
			return fail(stderr, err)
		}
		fmt.Fprintf(stdout, "Report of batch %s saved to %s\n", id, path)
		return exitOK
	}
}

func resendFlags(fs *flag.FlagSet) func(ctx context.Context, c *client, args []string, stdout, stderr io.Writer) int {
	org := fs.String("org", "", "organization id (required)")
	return func(ctx context.Context, c *client, args []string, stdout, stderr io.Writer) int {
		if *org == "" || len(args) == 0 {
			return fail(stderr, usagef("the resend command takes --org and one or more ACCOUNT_IDs"))
		}
		var r struct {
			Queued   int `json:"queued"`
			NotSent  int `json:"not_sent"`
			Accounts []struct {
				AccountID string `json:"account_id"`
				Status    string `json:"status"`
				Reason    string `json:"reason"`
			} `json:"accounts"`
		}
		if err := c.postJSON(ctx, "/v1/organizations/"+pathEscape(*org)+"/invitations/resend", map[string]any{"account_ids": args}, &r); err != nil {
			return fail(stderr, err)
		}
		for _, a := range r.Accounts {
			fmt.Fprintf(stdout, "%s\t%s\t%s\n", a.AccountID, a.Status, a.Reason)
		}
		fmt.Fprintf(stdout, "%d %s queued, %d not sent\n", r.Queued, plural(r.Queued, "invitation", "invitations"), r.NotSent)
		if r.NotSent > 0 {
			return exitFailed
		}
		return exitOK
	}
}

func moveFlags(fs *flag.FlagSet) func(ctx context.Context, c *client, args []string, stdout, stderr io.Writer) int {
	to := fs.String("to", "", "destination organization id (required)")
	return func(ctx context.Context, c *client, args []string, stdout, stderr io.Writer) int {
		if *to == "" || len(args) == 0 {
			return fail(stderr, usagef("the move command takes --to and one or more ACCOUNT_IDs"))
		}
		var r struct {
			Moved    int `json:"moved"`
			Accounts []struct {
				AccountID string `json:"account_id"`
				Number    string `json:"multiline_number"`
			} `json:"accounts"`
		}
		if err := c.postJSON(ctx, "/v1/accounts/move", map[string]any{"account_ids": args, "organization_id": *to}, &r); err != nil {
			return fail(stderr, err)
		}
		for _, a := range r.Accounts {
			fmt.Fprintf(stdout, "%s\t%s\n", a.AccountID, a.Number)
		}
		fmt.Fprintf(stdout, "%d %s moved to %s\n", r.Moved, plural(r.Moved, "account", "accounts"), *to)
		return exitOK
	}
}

func templateFlags(fs *flag.FlagSet) func(ctx context.Context, c *client, args []string, stdout, stderr io.Writer) int {
	org := fs.String("org", "", "organization id (required)")
	xlsx := fs.Bool("xlsx", false, "the Excel template (.xlsx, with drop-down lists) instead of the CSV one")
	out := fs.String("o", "", `where to save it (default multiline-accounts-template.csv or .xlsx; "-" for stdout)`)
	return func(ctx context.Context, c *client, args []string, stdout, stderr io.Writer) int {
		if *org == "" || len(args) != 0 {
			return fail(stderr, usagef("the template command takes --org and no arguments"))
		}
		ext := "csv"
		if *xlsx {
			ext = "xlsx"
		}
		b, _, err := c.do(ctx, "GET", "/v1/organizations/"+pathEscape(*org)+"/accounts/template."+ext, "", nil)
		if err != nil {
			return fail(stderr, err)
		}
		if *out == "-" {
			_, _ = stdout.Write(b)
			return exitOK
		}
		path := *out
		if path == "" {
			path = "multiline-accounts-template." + ext
		}
		if err := os.WriteFile(path, b, 0o644); err != nil {
			return fail(stderr, fmt.Errorf("save template: %w", err))
		}
		fmt.Fprintf(stdout, "Template saved to %s\n", path)
		return exitOK
	}
}
