package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"
)

// settings is what mlctl shows of an organization's settings.
type settings struct {
	ID                       string     `json:"id"`
	Name                     string     `json:"name"`
	BatchReportRecipients    []string   `json:"batch_report_recipients"`
	AllowedEmailDomains      []string   `json:"allowed_email_domains"`
	DefaultPermissionGroupID *string    `json:"default_permission_group_id"`
	PoolAlertThreshold       int        `json:"pool_alert_threshold"`
	PoolAlertRaisedAt        *time.Time `json:"pool_alert_raised_at"`
	Numbers                  struct {
		Available int `json:"available"`
	} `json:"numbers"`
}

func settingsFlags(fs *flag.FlagSet) func(ctx context.Context, c *client, args []string, stdout, stderr io.Writer) int {
	org := fs.String("org", "", "organization id (required)")
	domains := fs.String("allowed-domains", "", `comma-separated email domains its accounts may have, such as "@example.com,@example.org"; "" allows any`)
	group := fs.String("default-group", "", "the permission group id a moved account takes when the move names none")
	threshold := fs.Int("pool-threshold", 0, "raise the pool alert (Threshold exceeded for invitations) when Available numbers fall under this; 0: only when pending invitations need more than Available")
	return func(ctx context.Context, c *client, args []string, stdout, stderr io.Writer) int {
		if *org == "" || len(args) != 0 {
			return fail(stderr, usagef("the settings command takes --org and no arguments"))
		}
		body := map[string]any{}
		fs.Visit(func(f *flag.Flag) {
			switch f.Name {
			case "allowed-domains":
				body["allowed_email_domains"] = splitList(*domains)
			case "default-group":
				body["default_permission_group_id"] = *group
			case "pool-threshold":
				body["pool_alert_threshold"] = *threshold
			}
		})
		path := "/v1/organizations/" + pathEscape(*org)
		var s settings
		if len(body) == 0 {
			if err := c.getJSON(ctx, path, &s); err != nil {
				return fail(stderr, err)
			}
		} else if err := c.putJSON(ctx, path+"/settings", body, &s); err != nil {
			return fail(stderr, err)
		}
		printSettings(stdout, s)
		return exitOK
	}
}

// splitList splits a comma-separated flag value, dropping empty entries: "" is no entry.
func splitList(v string) []string {
	out := []string{}
	for _, e := range strings.Split(v, ",") {
		if e = strings.TrimSpace(e); e != "" {
			out = append(out, e)
		}
	}
	return out
}

func printSettings(w io.Writer, s settings) {
	list := func(l []string, none string) string {
		if len(l) == 0 {
			return none
		}
		return strings.Join(l, ", ")
	}
	fmt.Fprintf(w, "Organization:              %s (%s)\n", s.Name, s.ID)
	fmt.Fprintf(w, "Allowed email domains:     %s\n", list(s.AllowedEmailDomains, "any"))
	fmt.Fprintf(w, "Default permission group:  %s\n", orDash(s.DefaultPermissionGroupID))
	fmt.Fprintf(w, "Batch report recipients:   %s\n", list(s.BatchReportRecipients, "nobody"))
	threshold := "none"
	if s.PoolAlertThreshold > 0 {
		threshold = fmt.Sprintf("under %d available", s.PoolAlertThreshold)
	}
	alert := fmt.Sprintf("not raised (%d available)", s.Numbers.Available)
	if s.PoolAlertRaisedAt != nil {
		alert = fmt.Sprintf("RAISED since %s (%d available): Threshold exceeded for invitations", formatTime(*s.PoolAlertRaisedAt, time.Local), s.Numbers.Available)
	}
	fmt.Fprintf(w, "Pool alert threshold:      %s\n", threshold)
	fmt.Fprintf(w, "Pool alert:                %s\n", alert)
}
