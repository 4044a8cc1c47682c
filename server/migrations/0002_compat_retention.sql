-- pprl serve: anonlink-entity-service projects, deleted projects and purged results.
-- Portable SQL (SQLite and PostgreSQL both take ADD COLUMN with a constant default).

-- 1 for a project created through the anonlink-entity-service API (`/anonlink/api/v1`):
-- the creator received the party tokens (that API's model), and its result token may start runs.
ALTER TABLE projects ADD COLUMN compat BIGINT NOT NULL DEFAULT 0;
-- The anonlink result type of such a project: `groups` or `similarity_scores`.
ALTER TABLE projects ADD COLUMN compat_result_type TEXT;
-- When the project was deleted (its uploads and results removed, its tokens revoked).
ALTER TABLE projects ADD COLUMN deleted_at BIGINT;
-- When a run's result files were removed (project deletion, run deletion or retention).
ALTER TABLE runs ADD COLUMN purged_at BIGINT;
