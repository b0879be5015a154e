package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/term"
)

// waitBatch follows the batch until it finishes: from its event stream while the stream
// lasts, then by asking for it every `every` (the stream could not be opened, dropped or
// went silent). It redraws a bar in place when tty (out is a terminal) and prints a line
// per change otherwise; on a terminal it always ends the bar's line, so that what follows
// (the summary, an error) starts on a line of its own.
func waitBatch(ctx context.Context, c *client, b batch, every time.Duration, out io.Writer, tty bool) (batch, error) {
	p := &progress{out: out, tty: tty, last: -1}
	defer p.end()
	p.show(b)
	if b.FinishedAt == nil {
		b = c.followEvents(ctx, b, p.show)
	}
	for b.FinishedAt == nil {
		select {
		case <-ctx.Done():
			return b, stoppedWaiting(ctx, b.ID)
		case <-time.After(every):
		}
		if err := c.getJSON(ctx, "/v1/batches/"+pathEscape(b.ID), &b); err != nil {
			if ctx.Err() != nil {
				return b, stoppedWaiting(ctx, b.ID)
			}
			return b, err
		}
		p.show(b)
	}
	return b, nil
}

func stoppedWaiting(ctx context.Context, id string) error {
	return fmt.Errorf("stopped waiting for batch %s (it goes on): %w", id, ctx.Err())
}

// progress draws the states of one batch as waitBatch learns them.
type progress struct {
	out  io.Writer
	tty  bool
	last int // rows processed at the last line printed (not a terminal)
}

// show draws state b: on a terminal, the bar again over the last one; otherwise a line when
// the number of rows processed changed.
func (p *progress) show(b batch) {
	if p.tty {
		// Back to the start of the line and clear it: a shorter bar (the time left drops
		// off at 100 %) leaves nothing of the longer one behind.
		fmt.Fprintf(p.out, "\r%s%s", clearLine, bar(b, eta(b)))
	} else if b.Processed != p.last {
		fmt.Fprintf(p.out, "Batch %s: %d/%d processed, %d succeeded, %d failed\n", b.ID, b.Processed, b.Total, b.Succeeded, b.Failed)
	}
	p.last = b.Processed
}

// end ends the bar's line on a terminal.
func (p *progress) end() {
	if p.tty {
		fmt.Fprintln(p.out)
	}
}

// bar draws one line: [#####.....]  50%  3/6  ok 3  failed 0  about 5s left.
func bar(b batch, left string) string {
	const width = 30
	pct := 100
	if b.Total > 0 {
		pct = 100 * b.Processed / b.Total
	}
	fill := width * pct / 100
	s := fmt.Sprintf("[%s%s] %3d%%  %d/%d  ok %d  failed %d", strings.Repeat("#", fill), strings.Repeat(".", width-fill),
		pct, b.Processed, b.Total, b.Succeeded, b.Failed)
	if left != "" {
		s += "  " + left
	}
	return s
}

// clearLine is the terminal's "erase to end of line" (EL); it is written only to a terminal.
const clearLine = "\x1b[K"

// eta says the API's estimate of the time left (seconds_left: the batch's pace, and the send
// rate when one is set).
func eta(b batch) string {
	if b.FinishedAt != nil || b.SecondsLeft == nil {
		return ""
	}
	return "about " + (time.Duration(*b.SecondsLeft) * time.Second).String() + " left"
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
