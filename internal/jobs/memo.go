package jobs

import (
	"sync"

	"github.com/multiline/onboarding/internal/store"
)

// settledRows remembers rows that settled in this process, so that their own tasks, which
// usually run here a moment later, finish without asking PostgreSQL. A settled row stays
// settled, so the memory can only ever be right; it keeps the last settledRowsKept rows or
// more (two generations), and a row it has forgotten costs one query.
type settledRows struct {
	mu        sync.Mutex
	cur, prev map[store.RowKey]struct{}
}

const settledRowsKept = 50_000

func (m *settledRows) add(k store.RowKey) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cur == nil || len(m.cur) >= settledRowsKept {
		m.prev, m.cur = m.cur, make(map[store.RowKey]struct{}, 1024)
	}
	m.cur[k] = struct{}{}
}

func (m *settledRows) has(k store.RowKey) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, inCur := m.cur[k]
	_, inPrev := m.prev[k]
	return inCur || inPrev
}
