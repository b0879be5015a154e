package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"time"
)

// streamIdle is how long a batch's event stream may stay silent before mlctl stops reading
// it and polls: the API writes a comment line every 15 s on a quiet stream, so three of
// them missed mean that something between holds the stream back, or the connection is dead.
const streamIdle = 45 * time.Second

// followEvents follows batch b from its event stream, calling show with each state, and
// returns the last state it saw. It asks GET /v1/batches/{id} for text/event-stream (not
// /events): an API or a proxy that does not stream answers that URL with the batch's JSON,
// which is then one state like a poll's. It returns once the batch has finished, or when the
// stream could not be opened, ended or dropped, stayed silent for c.streamIdle, or ctx ended;
// the caller polls from the state it returns.
func (c *client) followEvents(ctx context.Context, b batch, show func(batch)) batch {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/v1/batches/"+pathEscape(b.ID), nil)
	if err != nil {
		return b
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "text/event-stream")
	idle := time.AfterFunc(c.streamIdle, cancel)
	defer idle.Stop()
	resp, err := c.stream.Do(req)
	if err != nil {
		return b
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return b // refused: polling gives the API's own answer, or the batch
	}
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		var got batch
		if json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&got) == nil && got.ID == b.ID {
			show(got)
			return got
		}
		return b
	}
	sc := bufio.NewScanner(resp.Body) // lines without their CR LF, CR or LF
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	var event, data string
	for sc.Scan() {
		idle.Reset(c.streamIdle)
		line := sc.Text()
		if line == "" { // the end of an event
			var got batch
			if event == "batch" && json.Unmarshal([]byte(data), &got) == nil && got.ID == b.ID {
				b = got
				show(b)
				if b.FinishedAt != nil {
					return b
				}
			}
			event, data = "", ""
			continue
		}
		field, value, _ := strings.Cut(line, ":") // a line starting with ":" is a comment
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "event":
			event = value
		case "data":
			if data != "" {
				data += "\n"
			}
			data += value
		}
	}
	return b
}
