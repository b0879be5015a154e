// Command mlctl drives the MultiLine batch onboarding API from a terminal or a script:
//
//	mlctl upload FILE --org ID --permission-group ID [--invite] [--dry-run] [--wait] [--report PATH]
//	mlctl batches --org ID
//	mlctl report ID [-o PATH] [--xlsx]
//	mlctl template --org ID [--xlsx] [-o PATH]
//	mlctl resend --org ID ACCOUNT_ID...
//	mlctl move --to ORG ACCOUNT_ID...
//	mlctl orgs
//	mlctl groups --org ID
//	mlctl accounts --org ID [--status not_invited|invited|active]
//
// Every command takes --token and --url, or reads MULTILINE_TOKEN and MULTILINE_URL
// (default http://localhost:8080).
//
// Exit codes: 0 when everything succeeded; 1 when some rows failed (or, in a dry run, were
// invalid or would lack a free number), or the API or network failed; 2 on a usage error or when the API refused the file
// itself (a 4xx answer to the upload).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/multiline/onboarding/internal/sentence"
)

// Exit codes.
const (
	exitOK     = 0
	exitFailed = 1
	exitUsage  = 2
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

const usage = `mlctl drives the MultiLine batch onboarding API.

Usage:
  mlctl upload FILE --org ID --permission-group ID [--invite] [--dry-run] [--wait] [--report PATH]
  mlctl batches --org ID
  mlctl report ID [-o PATH] [--xlsx]
  mlctl template --org ID [--xlsx] [-o PATH]
  mlctl resend --org ID ACCOUNT_ID...
  mlctl move --to ORG ACCOUNT_ID...
  mlctl orgs                       organization ids, names and free numbers
  mlctl groups --org ID            permission group ids (for upload)
  mlctl accounts --org ID [--status not_invited|invited|active]
                                   account ids (for resend and move)

Every command takes --token (or MULTILINE_TOKEN) and --url (or MULTILINE_URL,
default http://localhost:8080). Run "mlctl COMMAND -h" for a command's flags.

Exit codes: 0 all succeeded, 1 some rows failed (in a dry run: were invalid or
would lack a free number) or the request failed, 2 usage error or the API refused the file.
`

// command is one subcommand: it defines its flags on fs and runs with the parsed client.
type command struct {
	flags func(fs *flag.FlagSet) func(ctx context.Context, c *client, args []string, stdout, stderr io.Writer) int
}

var commands = map[string]command{
	"upload":   {flags: uploadFlags},
	"batches":  {flags: batchesFlags},
	"report":   {flags: reportFlags},
	"template": {flags: templateFlags},
	"resend":   {flags: resendFlags},
	"move":     {flags: moveFlags},
	"orgs":     {flags: orgsFlags},
	"groups":   {flags: groupsFlags},
	"accounts": {flags: accountsFlags},
}

// usageError is a mistake in the command line; run prints it with the usage hint.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// run is the whole program: it parses args, runs the command and returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		if len(args) == 0 {
			fmt.Fprint(stderr, usage)
			return exitUsage
		}
		fmt.Fprint(stdout, usage) // asked for: help is the output, not an error
		return exitOK
	}
	cmd, ok := commands[args[0]]
	if !ok {
		printError(stderr, fmt.Sprintf("unknown command %q", args[0]))
		fmt.Fprint(stderr, "\n"+usage)
		return exitUsage
	}
	fs := flag.NewFlagSet("mlctl "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {} // printed below: to stdout for -h, to stderr after a mistake
	// The defaults are empty so that flag's help does not add its own "(default ...)",
	// which would repeat the one in the text and show the token taken from the environment.
	token := fs.String("token", "", "admin token (default $MULTILINE_TOKEN)")
	url := fs.String("url", "", "API base URL (default $MULTILINE_URL, else http://localhost:8080)")
	exec := cmd.flags(fs)
	rest, err := parseInterspersed(fs, args[1:])
	if errors.Is(err, flag.ErrHelp) {
		printFlags(fs, stdout)
		return exitOK
	}
	if err != nil {
		printFlags(fs, stderr) // after flag's line saying what is wrong
		return exitUsage
	}
	if *token == "" {
		*token = os.Getenv("MULTILINE_TOKEN")
	}
	if *url == "" {
		*url = envOr("MULTILINE_URL", "http://localhost:8080")
	}
	if *token == "" {
		printError(stderr, "no admin token: pass --token or set MULTILINE_TOKEN")
		return exitUsage
	}
	return exec(ctx, newClient(*url, *token), rest, stdout, stderr)
}

// printFlags writes the command's flags to w.
func printFlags(fs *flag.FlagSet, w io.Writer) {
	fmt.Fprintf(w, "Usage of %s:\n", fs.Name())
	out := fs.Output()
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(out)
}

// parseInterspersed parses flags that come before, between or after positional arguments
// (the flag package stops at the first one), and returns the positional arguments.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var rest []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return rest, nil
		}
		if args[0] == "--" {
			return append(rest, args[1:]...), nil
		}
		rest = append(rest, args[0])
		args = args[1:]
	}
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// fail prints err and returns its exit code: 2 for usage errors and the API's refusals of
// the request (4xx) where refusal means the input is wrong, 1 otherwise.
func fail(stderr io.Writer, err error) int {
	var ue usageError
	if errors.As(err, &ue) {
		printError(stderr, ue.msg+" (see mlctl -h)")
		return exitUsage
	}
	var ae *apiError
	if errors.As(err, &ae) {
		printError(stderr, ae.Message)
		for _, d := range ae.Details {
			fmt.Fprintf(stderr, "  %s\n", detail(d))
		}
		fmt.Fprintf(stderr, "  (%s, HTTP %d)\n", ae.Code, ae.Status)
		return exitFailed
	}
	printError(stderr, strings.TrimSpace(err.Error()))
	return exitFailed
}

// printError writes the line of an error, "mlctl: " and msg starting with a capital: msg is
// composed like a Go error, or is the API's message. Every error mlctl reports is written
// here.
func printError(stderr io.Writer, msg string) {
	fmt.Fprintf(stderr, "mlctl: %s\n", sentence.Capitalize(msg))
}

// detail is one of an API error's details as a line: a string as it is, anything else
// (an object such as {"needed":2,"available":0}, a number) as compact JSON.
func detail(d any) string {
	if s, ok := d.(string); ok {
		return s
	}
	b, err := json.Marshal(d)
	if err != nil {
		return fmt.Sprint(d)
	}
	return string(b)
}
