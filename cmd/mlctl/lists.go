package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"text/tabwriter"
	"time"
)

// The commands here list what other commands take: organization ids (upload, batches,
// template, move --to), permission group ids (upload) and account ids (resend, move).

func orgsFlags(fs *flag.FlagSet) func(ctx context.Context, c *client, args []string, stdout, stderr io.Writer) int {
	return func(ctx context.Context, c *client, args []string, stdout, stderr io.Writer) int {
		if len(args) != 0 {
			return fail(stderr, usagef("the orgs command takes no arguments"))
		}
		var r struct {
			Organizations []struct {
				ID        string    `json:"id"`
				Name      string    `json:"name"`
				CreatedAt time.Time `json:"created_at"`
				Numbers   struct {
					Available int `json:"available"`
					Reserved  int `json:"reserved"`
					Assigned  int `json:"assigned"`
				} `json:"numbers"`
			} `json:"organizations"`
		}
		if err := c.getJSON(ctx, "/v1/organizations", &r); err != nil {
			return fail(stderr, err)
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tAVAILABLE\tRESERVED\tASSIGNED\tCREATED")
		for _, o := range r.Organizations {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%s\n", o.ID, o.Name, o.Numbers.Available, o.Numbers.Reserved, o.Numbers.Assigned,
				formatTime(o.CreatedAt, time.Local))
		}
		return flush(tw, stderr)
	}
}

func groupsFlags(fs *flag.FlagSet) func(ctx context.Context, c *client, args []string, stdout, stderr io.Writer) int {
	org := fs.String("org", "", "organization id (required)")
	return func(ctx context.Context, c *client, args []string, stdout, stderr io.Writer) int {
		if *org == "" || len(args) != 0 {
			return fail(stderr, usagef("the groups command takes --org and no arguments"))
		}
		var r struct {
			Groups []struct {
				ID        string    `json:"id"`
				Name      string    `json:"name"`
				CreatedAt time.Time `json:"created_at"`
			} `json:"permission_groups"`
		}
		if err := c.getJSON(ctx, "/v1/organizations/"+pathEscape(*org)+"/permission-groups", &r); err != nil {
			return fail(stderr, err)
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tCREATED")
		for _, g := range r.Groups {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", g.ID, g.Name, formatTime(g.CreatedAt, time.Local))
		}
		return flush(tw, stderr)
	}
}

// account is an account as the API lists it.
type account struct {
	ID              string    `json:"id"`
	Identifier      string    `json:"identifier"`
	Firstname       string    `json:"firstname"`
	Lastname        string    `json:"lastname"`
	Status          string    `json:"status"`
	MultilineNumber *string   `json:"multiline_number"`
	Invitation      *string   `json:"invitation"`
	CreatedAt       time.Time `json:"created_at"`
}

// accountStatuses are the statuses an account can have, for --status.
var accountStatuses = map[string]bool{"not_invited": true, "invited": true, "active": true}

func accountsFlags(fs *flag.FlagSet) func(ctx context.Context, c *client, args []string, stdout, stderr io.Writer) int {
	org := fs.String("org", "", "organization id (required)")
	status := fs.String("status", "", "only accounts with this status: not_invited, invited or active (mlctl filters the full list)")
	return func(ctx context.Context, c *client, args []string, stdout, stderr io.Writer) int {
		if *org == "" || len(args) != 0 {
			return fail(stderr, usagef("the accounts command takes --org and no arguments"))
		}
		if *status != "" && !accountStatuses[*status] {
			return fail(stderr, usagef("--status is not_invited, invited or active, not %q", *status))
		}
		all, err := listAccounts(ctx, c, *org)
		if err != nil {
			return fail(stderr, err)
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tIDENTIFIER\tNAME\tSTATUS\tINVITATION\tNUMBER\tCREATED")
		for _, a := range all {
			if *status != "" && a.Status != *status {
				continue
			}
			fmt.Fprintf(tw, "%s\t%s\t%s %s\t%s\t%s\t%s\t%s\n", a.ID, a.Identifier, a.Firstname, a.Lastname, a.Status,
				orDash(a.Invitation), orDash(a.MultilineNumber), formatTime(a.CreatedAt, time.Local))
		}
		return flush(tw, stderr)
	}
}

// listAccounts reads every account of org, a page at a time. The API has no status filter,
// so the caller filters. It follows the answer's "next" cursor when the API gives one, and
// pages by offset otherwise (until a page comes back short).
func listAccounts(ctx context.Context, c *client, org string) ([]account, error) {
	const pageSize = 1000 // the API's default page, within its limit
	var all []account
	after, cursor := "", false
	for {
		q := url.Values{"limit": {strconv.Itoa(pageSize)}}
		switch {
		case cursor:
			q.Set("after", after)
		case len(all) > 0:
			q.Set("offset", strconv.Itoa(len(all)))
		}
		var page struct {
			Accounts []account `json:"accounts"`
			Next     *string   `json:"next"`
		}
		if err := c.getJSON(ctx, "/v1/organizations/"+pathEscape(org)+"/accounts?"+q.Encode(), &page); err != nil {
			return nil, err
		}
		all = append(all, page.Accounts...)
		if page.Next != nil && *page.Next != "" {
			cursor, after = true, *page.Next
			continue
		}
		if cursor || len(page.Accounts) < pageSize {
			return all, nil
		}
	}
}

// formatTime shows t in loc, with the zone's name so that nobody mistakes it for UTC
// (or for their own zone).
func formatTime(t time.Time, loc *time.Location) string {
	return t.In(loc).Format(time.DateTime + " MST")
}

// plural picks one or many by n.
func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func orDash(s *string) string {
	if s == nil || *s == "" {
		return "-"
	}
	return *s
}

func flush(tw *tabwriter.Writer, stderr io.Writer) int {
	if err := tw.Flush(); err != nil {
		return fail(stderr, err)
	}
	return exitOK
}
