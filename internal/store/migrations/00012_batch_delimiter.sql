-- +goose Up
-- The delimiter of the uploaded file (',', ';' or a tab), so that the report can be offered
-- with the same one: a spreadsheet set up for semicolons opens a comma report as one column.
ALTER TABLE batches ADD COLUMN delimiter text NOT NULL DEFAULT ','
    CHECK (delimiter IN (',', ';', E'\t'));

-- +goose Down
ALTER TABLE batches DROP COLUMN delimiter;
