package main

import (
	"encoding/json"
	"html/template"
	"net/http"
	"slices"

	"github.com/multiline/onboarding/internal/smstest"
)

// page lists the messages, newest first; html/template escapes every field.
var page = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>SMS sent ({{len .}})</title>
<meta http-equiv="refresh" content="5">
<style>body{font-family:system-ui,sans-serif;margin:2rem}table{border-collapse:collapse}
td,th{border:1px solid #ccc;padding:.4rem .6rem;text-align:left;vertical-align:top}
td.body{white-space:pre-wrap;max-width:40rem}</style></head>
<body><h1>SMS the fake provider took ({{len .}})</h1>
<p>The page reloads every 5 seconds. The same list as JSON: <a href="/messages.json">/messages.json</a>.</p>
<table><tr><th>time</th><th>to</th><th>from</th><th>text</th></tr>
{{range .}}<tr><td>{{.DateCreated.Format "15:04:05"}}</td><td>{{.To}}</td><td>{{.From}}{{.MessagingServiceSID}}</td><td class="body">{{.Body}}</td></tr>
{{else}}<tr><td colspan="4">None yet: run an Import &amp; Invite with device numbers (docs/example.csv has some).</td></tr>{{end}}
</table></body></html>
`))

func newestFirst(api *smstest.API) []smstest.Message {
	msgs := api.Messages()
	slices.Reverse(msgs)
	return msgs
}

func writePage(w http.ResponseWriter, api *smstest.API) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	_ = page.Execute(w, newestFirst(api))
}

func writeMessagesJSON(w http.ResponseWriter, api *smstest.API) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"messages": newestFirst(api)})
}
