package mailer

import (
	"context"
	"fmt"
	"testing"

	"github.com/multiline/onboarding/internal/smtptest"
)

// BenchmarkSend measures delivery of a rendered invitation (text + HTML) to
// the in-process server over pooled connections; see the msgs/s metric.
func BenchmarkSend(b *testing.B) {
	subject, text, html, err := RenderInvitation(DefaultInvitationTemplate("en"), SampleInvitationData("en"))
	if err != nil {
		b.Fatal(err)
	}
	msg := Message{To: "anna@example.com", ToName: "Anna Rossi", Subject: subject, Text: text, HTML: html,
		MessageID: "<invitation-bench@multiline>"}

	for _, conns := range []int{1, 4} {
		b.Run(fmt.Sprintf("conns=%d", conns), func(b *testing.B) {
			srv := smtptest.Start(b)
			m := newMailer(b, srv.URL(), nil, func(c *Config) { c.MaxConns = conns })
			ctx := context.Background()
			b.SetParallelism(conns) // conns × GOMAXPROCS senders
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := m.Send(ctx, msg); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
			b.ReportMetric(float64(srv.Connections()), "dials")
		})
	}
}

// BenchmarkRenderInvitation measures parsing and rendering one invitation.
func BenchmarkRenderInvitation(b *testing.B) {
	tmpl, d := DefaultInvitationTemplate("de"), SampleInvitationData("de")
	for b.Loop() {
		if _, _, _, err := RenderInvitation(tmpl, d); err != nil {
			b.Fatal(err)
		}
	}
}
