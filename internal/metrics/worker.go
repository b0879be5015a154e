package metrics

import (
	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/multiline/onboarding/internal/store"
)

// Causes of RedisRecoveries.
const (
	RedisEmpty = "empty" // Redis answered without the worker's marker: it lost its data
	RedisBack  = "back"  // Redis answered again after failing to
)

// Causes of TasksReclaimed.
const (
	ReclaimLeaseExpired = "lease_expired" // active past its lease: its worker died or lost Redis
	ReclaimNoPayload    = "no_payload"    // active without its message: an evicted hash recreated empty
)

// Reasons of EmailsUnsent.
const (
	UnsentNoLink       = "no_link"       // the invitation rendered without its activation link
	UnsentRenderFailed = "render_failed" // the invitation template did not render for this person
)

// Classes of SMSFailed: why a send to the SMS provider failed.
const (
	SMSTransient     = "transient"      // no answer, or a 5xx: retried
	SMSRateLimited   = "rate_limited"   // 429: retried after the provider's Retry-After
	SMSInvalidNumber = "invalid_number" // the provider says the number cannot take SMS (Twilio 21211, 21614...)
	SMSOptedOut      = "opted_out"      // the recipient unsubscribed (Twilio 21610)
	SMSRefused       = "refused"        // any other 4xx: the invitation fails
	SMSGaveUp        = "gave_up"        // still transient on the row's last attempt: the invitation fails
	SMSUnsent        = "unsent"         // its template rendered without the link, or did not render
)

// SMSClasses are the label values of SMSFailed.
var SMSClasses = []string{SMSTransient, SMSRateLimited, SMSInvalidNumber, SMSOptedOut, SMSRefused, SMSGaveUp, SMSUnsent}

// Label values the worker's counters have from the start, at zero, so that rate() and
// increase() see their first burst and panels show 0 rather than nothing.
var (
	emailKinds   = []string{"invitation", "batch_summary", "pool_alert"}
	emailClasses = []string{"transient", "permanent"}
	batchStates  = []string{store.BatchCompleted, store.BatchCanceled}
)

// OrganizationSizes are the label values of BatchQueueWait; OrganizationSize picks one.
var OrganizationSizes = []string{"small", "medium", "large"}

// OrganizationSize is the size class of an organization of the given number of accounts.
func OrganizationSize(accounts int) string {
	switch {
	case accounts < 1000:
		return "small"
	case accounts < 10000:
		return "medium"
	}
	return "large"
}

// SendChannels are the values of the channel label of the send-rate metrics.
var SendChannels = []string{"email", "sms"}

// Worker holds the worker process's metrics.
type Worker struct {
	RowsSettled     *prometheus.CounterVec
	RowDuration     *prometheus.HistogramVec
	BatchesFinished *prometheus.CounterVec
	BatchDuration   *prometheus.HistogramVec
	BatchQueueWait  *prometheus.HistogramVec
	NumbersReserved prometheus.Counter
	EmailsSent      *prometheus.CounterVec
	EmailsFailed    *prometheus.CounterVec
	EmailsUnsent    *prometheus.CounterVec
	EmailDuration   prometheus.Histogram
	SMSSent         prometheus.Counter
	SMSFailed       *prometheus.CounterVec
	SMSDuration     prometheus.Histogram
	TaskRetries     *prometheus.CounterVec
	Reenqueued      prometheus.Counter
	DBErrors        prometheus.Counter
	RecordRetries   prometheus.Counter
	RedisRecoveries *prometheus.CounterVec
	TasksReclaimed  *prometheus.CounterVec
	// The send rate (SMTP_RATE): how long sends waited for a token, the tasks that went
	// back to their queue because the rate was used up, and the mail server's own refusals
	// for going over its rate.
	SendWait          *prometheus.HistogramVec
	SendThrottled     *prometheus.CounterVec
	EmailRateRefusals prometheus.Counter
}

// NewWorker registers the worker's metrics on reg. taskTypes are the types of the tasks it
// runs, the label values of its task errors.
func NewWorker(reg prometheus.Registerer, taskTypes ...string) *Worker {
	m := &Worker{
		RowsSettled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "rows", Name: "settled_total",
			Help: "Batch rows settled by outcome (succeeded, failed, canceled) and reason class.",
		}, []string{"outcome", "reason"}),
		RowDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Subsystem: "rows", Name: "duration_seconds",
			Help:    "Time a worker spent settling one row, by outcome.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"outcome"}),
		BatchesFinished: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "batch", Name: "finished_total",
			Help: "Batches finalized, by final status.",
		}, []string{"status"}),
		BatchDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Subsystem: "batch", Name: "duration_seconds",
			Help:    "Time from upload to report ready, by final status.",
			Buckets: []float64{.25, .5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800},
		}, []string{"status"}),
		BatchQueueWait: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Subsystem: "batch", Name: "queue_wait_seconds",
			Help:    "Time from upload to a completed batch's first row started, by the size of its organization (small: under 1,000 accounts, medium: under 10,000, large).",
			Buckets: []float64{.05, .1, .25, .5, 1, 2, 5, 10, 30, 60, 300, 900},
		}, []string{"organization_size"}),
		NumbersReserved: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "numbers", Name: "reserved_total",
			Help: "Numbers reserved for new accounts.",
		}),
		EmailsSent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "email", Name: "sent_total",
			Help: "Emails the SMTP server accepted, by kind.",
		}, []string{"kind"}),
		EmailsFailed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "email", Name: "failed_total",
			Help: "Email send attempts that failed, by kind and class (transient: retried; permanent: given up).",
		}, []string{"kind", "class"}),
		EmailsUnsent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "email", Name: "unsent_total",
			Help: "Invitation emails not sent because of their template, by reason (no_link: rendered without the activation link; render_failed: did not render); the invitation fails at once.",
		}, []string{"reason"}),
		EmailDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: namespace, Subsystem: "email", Name: "send_duration_seconds",
			Help:    "Time to hand one email to the SMTP server.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}),
		SMSSent: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "sms", Name: "sent_total",
			Help: "Invitation SMS the provider accepted.",
		}),
		SMSFailed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "sms", Name: "failed_total",
			Help: "Invitation SMS not sent, by class (transient and rate_limited: retried; invalid_number, opted_out, refused, gave_up, unsent: the invitation fails).",
		}, []string{"class"}),
		SMSDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: namespace, Subsystem: "sms", Name: "provider_duration_seconds",
			Help:    "Time the SMS provider took to answer one send, accepted or not.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}),
		TaskRetries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "queue", Name: "task_errors_total",
			Help: "Task runs that returned an error and will be retried, by task type.",
		}, []string{"type"}),
		Reenqueued: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "reconciler", Name: "reenqueued_total",
			Help: "Row and finalize tasks the reconciler had to enqueue again (lost from Redis or never enqueued).",
		}),
		DBErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "postgres", Name: "errors_total",
			Help: "Task runs that failed on a PostgreSQL error.",
		}),
		RecordRetries: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "rows", Name: "record_retries_total",
			Help: "Writes of a row's outcome retried after PostgreSQL failed them (the outcome, such as an accepted email, is kept and written again, not redone).",
		}),
		RedisRecoveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "redis", Name: "recoveries_total",
			Help: "Times this worker found Redis empty (its marker gone) or answering again after an outage, and enqueued the pending rows of unfinished batches again, by cause.",
		}, []string{"cause"}),
		TasksReclaimed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "queue", Name: "tasks_reclaimed_total",
			Help: "Active tasks this worker gave back to their queue because they were lost, by cause (lease_expired: their worker died or lost Redis; no_payload: an evicted task hash recreated empty).",
		}, []string{"cause"}),
		SendWait: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Subsystem: "send_rate", Name: "wait_seconds",
			Help:    "Time a send waited for a slot of the shared send rate (SMTP_RATE, SMS_RATE) before it went out, by channel (email, sms).",
			Buckets: []float64{.01, .05, .1, .25, .5, 1, 2.5, 5, 10, 20},
		}, []string{"channel"}),
		SendThrottled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "send_rate", Name: "throttled_total",
			Help: "Tasks that went back to their queue, without spending an attempt, because the shared send rate (SMTP_RATE, SMS_RATE) could not give them a slot in time, by channel (email, sms).",
		}, []string{"channel"}),
		EmailRateRefusals: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "email", Name: "rate_refusals_total",
			Help: "Temporary refusals (421/450/451/454) in which the mail server said the sender is over its rate; the worker holds its sends for a few seconds and the task backs off longer.",
		}),
	}
	for _, ch := range SendChannels {
		m.SendWait.WithLabelValues(ch)
		m.SendThrottled.WithLabelValues(ch)
	}
	for _, cause := range []string{ReclaimLeaseExpired, ReclaimNoPayload} {
		m.TasksReclaimed.WithLabelValues(cause)
	}
	for _, cause := range []string{RedisEmpty, RedisBack} {
		m.RedisRecoveries.WithLabelValues(cause)
	}
	for _, reason := range []string{UnsentNoLink, UnsentRenderFailed} {
		m.EmailsUnsent.WithLabelValues(reason)
	}
	for status, codes := range store.SettledCodes {
		m.RowDuration.WithLabelValues(status)
		for _, code := range codes {
			m.RowsSettled.WithLabelValues(status, code)
		}
	}
	for _, kind := range emailKinds {
		m.EmailsSent.WithLabelValues(kind)
		for _, class := range emailClasses {
			m.EmailsFailed.WithLabelValues(kind, class)
		}
	}
	for _, class := range SMSClasses {
		m.SMSFailed.WithLabelValues(class)
	}
	for _, size := range OrganizationSizes {
		m.BatchQueueWait.WithLabelValues(size)
	}
	for _, status := range batchStates {
		m.BatchesFinished.WithLabelValues(status)
		m.BatchDuration.WithLabelValues(status)
	}
	for _, t := range taskTypes {
		m.TaskRetries.WithLabelValues(t)
	}
	reg.MustRegister(m.RowsSettled, m.RowDuration, m.BatchesFinished, m.BatchDuration, m.BatchQueueWait, m.NumbersReserved,
		m.EmailsSent, m.EmailsFailed, m.EmailsUnsent, m.EmailDuration, m.SMSSent, m.SMSFailed, m.SMSDuration, m.TaskRetries,
		m.Reenqueued, m.DBErrors, m.RecordRetries, m.RedisRecoveries, m.TasksReclaimed, m.SendWait, m.SendThrottled, m.EmailRateRefusals)
	return m
}

// QueueCollector reports the depth and latency of Asynq queues at scrape time.
type QueueCollector struct {
	inspector *asynq.Inspector
	queues    []string
	size      *prometheus.Desc
	latency   *prometheus.Desc
	up        *prometheus.Desc
}

// NewQueueCollector returns a collector of the given queues.
func NewQueueCollector(inspector *asynq.Inspector, queues []string) *QueueCollector {
	return &QueueCollector{
		inspector: inspector,
		queues:    queues,
		size: prometheus.NewDesc(namespace+"_queue_tasks", "Tasks in a queue by state.",
			[]string{"queue", "state"}, nil),
		latency: prometheus.NewDesc(namespace+"_queue_latency_seconds",
			"Age of the oldest pending task of a queue.", []string{"queue"}, nil),
		up: prometheus.NewDesc(namespace+"_redis_up", "1 when Redis answered the last scrape.", nil, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *QueueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.size
	ch <- c.latency
	ch <- c.up
}

// Collect implements prometheus.Collector.
func (c *QueueCollector) Collect(ch chan<- prometheus.Metric) {
	up := 1.0
	for _, q := range c.queues {
		info, err := c.inspector.GetQueueInfo(q)
		if err != nil {
			// A queue with no task yet does not exist in Redis; report zeros.
			info = &asynq.QueueInfo{Queue: q}
			if _, pingErr := c.inspector.Queues(); pingErr != nil {
				up = 0
			}
		}
		for state, n := range map[string]int{
			"pending": info.Pending, "active": info.Active, "scheduled": info.Scheduled,
			"retry": info.Retry, "archived": info.Archived, "completed": info.Completed,
		} {
			ch <- prometheus.MustNewConstMetric(c.size, prometheus.GaugeValue, float64(n), q, state)
		}
		ch <- prometheus.MustNewConstMetric(c.latency, prometheus.GaugeValue, info.Latency.Seconds(), q)
	}
	ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, up)
}
