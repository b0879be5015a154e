-- +goose Up
-- A batch account is written twice: inserted by its row's claim, then marked invited when its
-- email has gone out. Leaving a fifth of each page free lets that second write stay on the
-- page (a HOT update: status is in no index), so it adds no entry to the table's four
-- indexes. Only pages written from now on keep the room.
ALTER TABLE accounts SET (fillfactor = 80);

-- +goose Down
ALTER TABLE accounts RESET (fillfactor);
