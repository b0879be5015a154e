// Package jobs holds the Asynq tasks of the service and their handlers: one task per batch
// row, a finalizer per batch, and the reconciler that re-derives lost work from PostgreSQL.
// Tasks carry ids, not data; handlers read what they need from the store.
package jobs

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/hibiken/asynq"

	"github.com/multiline/onboarding/internal/mailer"
)

// Task types.
const (
	TypeRow        = "batch:row"
	TypeFinalize   = "batch:finalize"
	TypeInvitation = "invitation:send"
	TypeNotify     = "batch:notify"
	TypePoolAlert  = "pool:alert"
)

// TaskTypes are the types of every task a worker runs.
var TaskTypes = []string{TypeRow, TypeFinalize, TypeInvitation, TypeNotify, TypePoolAlert}

// Queues names the Asynq queues; a Prefix keeps deployments (and tests) sharing one Redis apart.
type Queues struct {
	Prefix string
}

// Rows is the queue of row tasks.
func (q Queues) Rows() string { return q.Prefix + "rows" }

// Finalize is the queue of finalize tasks, served by a server of its own (see Servers) so
// reports never wait behind another batch's rows.
func (q Queues) Finalize() string { return q.Prefix + "finalize" }

// Invitations is the queue of invitation emails sent outside a batch (Resend Invitation).
func (q Queues) Invitations() string { return q.Prefix + "invitations" }

// Notify is the queue of emails to administrators: batch summaries and pool alerts.
func (q Queues) Notify() string { return q.Prefix + "notify" }

// Markers are the keys by which a worker tells that Redis lost its data (see Watch), one per
// queue. Each sits in its queue's key space, "asynq:{<queue>}:...", so it hashes to the slot
// of that queue's keys in a Redis Cluster: whatever removes a queue (a flush, a failover of
// the node that holds it to an empty replica) removes its marker too.
func (q Queues) Markers() []string {
	names := q.Names()
	keys := make([]string, len(names))
	for i, name := range names {
		keys[i] = "asynq:{" + name + "}:multiline_marker"
	}
	return keys
}

// SendRate is the key of the limiter that keeps every worker's sends by channel ("email",
// "sms") within SMTP_RATE or SMS_RATE (see Gate).
func (q Queues) SendRate(channel string) string { return q.Prefix + "send_rate:" + channel }

// Names lists every queue name.
func (q Queues) Names() []string {
	return []string{q.Finalize(), q.Invitations(), q.Rows(), q.Notify()}
}

type rowPayload struct {
	BatchID string `json:"batch_id"`
	Line    int    `json:"line"`
}

type batchPayload struct {
	BatchID string `json:"batch_id"`
}

// Row tasks retry transient failures (database or SMTP unreachable) this many times with
// backoff; the last attempt settles the row as failed, so every batch finishes.
const rowMaxRetry = 8

// RowTaskID is the deterministic task id of a batch row: enqueueing it twice is harmless.
func RowTaskID(batchID string, line int) string { return "row:" + batchID + ":" + strconv.Itoa(line) }

// FinalizeTaskID is the deterministic task id of a batch's finalizer.
func FinalizeTaskID(batchID string) string { return "finalize:" + batchID }

// NewRowTask returns the task that settles row line of batch batchID.
func NewRowTask(q Queues, batchID string, line int) *asynq.Task {
	payload, _ := json.Marshal(rowPayload{BatchID: batchID, Line: line})
	return asynq.NewTask(TypeRow, payload, asynq.TaskID(RowTaskID(batchID, line)), asynq.Queue(q.Rows()),
		asynq.MaxRetry(rowMaxRetry), asynq.Timeout(2*time.Minute))
}

// NewFinalizeTask returns the task that closes batch batchID and builds its report.
func NewFinalizeTask(q Queues, batchID string) *asynq.Task {
	payload, _ := json.Marshal(batchPayload{BatchID: batchID})
	return asynq.NewTask(TypeFinalize, payload, asynq.TaskID(FinalizeTaskID(batchID)), asynq.Queue(q.Finalize()),
		asynq.MaxRetry(25), asynq.Timeout(2*time.Minute))
}

type invitationPayload struct {
	InvitationID string `json:"invitation_id"`
}

type notifyPayload struct {
	BatchID   string `json:"batch_id"`
	Recipient string `json:"recipient"`
}

// InvitationTaskID is the deterministic task id of one invitation's email: one per account
// and resend request, since each request creates its own invitation.
func InvitationTaskID(invitationID string) string { return "invitation:" + invitationID }

// NotifyTaskID is the deterministic task id of a batch's summary email to one recipient.
func NotifyTaskID(batchID, recipient string) string { return "notify:" + batchID + ":" + recipient }

// NewInvitationTask returns the task that sends pending invitation invitationID.
func NewInvitationTask(q Queues, invitationID string) *asynq.Task {
	payload, _ := json.Marshal(invitationPayload{InvitationID: invitationID})
	return asynq.NewTask(TypeInvitation, payload, asynq.TaskID(InvitationTaskID(invitationID)),
		asynq.Queue(q.Invitations()), asynq.MaxRetry(rowMaxRetry), asynq.Timeout(time.Minute))
}

// NewNotifyTask returns the task that emails batch batchID's summary to recipient.
func NewNotifyTask(q Queues, batchID, recipient string) *asynq.Task {
	payload, _ := json.Marshal(notifyPayload{BatchID: batchID, Recipient: recipient})
	return asynq.NewTask(TypeNotify, payload, asynq.TaskID(NotifyTaskID(batchID, recipient)),
		asynq.Queue(q.Notify()), asynq.MaxRetry(notifyMaxRetry), asynq.Timeout(time.Minute))
}

// Summary emails retry transient failures this many times (about half an hour with the
// default backoff) before they are recorded as failed.
const notifyMaxRetry = 30

func decode[T any](t *asynq.Task) (T, error) {
	var p T
	if err := json.Unmarshal(t.Payload(), &p); err != nil {
		return p, fmt.Errorf("%w: bad %s payload: %v", asynq.SkipRetry, t.Type(), err)
	}
	return p, nil
}

// retryDelay backs off exponentially from half a second to a minute; a row in hand
// elsewhere is looked at again when that attempt's lease ends. A mail server that said the
// sender is over its rate is given longer: ten seconds, doubling to five minutes.
func retryDelay(n int, err error, t *asynq.Task) time.Duration {
	if d, ok := BusyDelay(err); ok {
		return d
	}
	if d, ok := ProviderDelay(err); ok {
		return d
	}
	if mailer.IsRateLimited(err) {
		return min(10*time.Second<<min(n, 5), 5*time.Minute)
	}
	d := 500 * time.Millisecond << min(n, 7)
	return min(d, time.Minute)
}
