-- PostgreSQL's migration 3 lets one server process answer <domain:check> from memory while
-- it is the only writer of `domains` (docs/check-cache.md). A SQLite database has one
-- server process and reads locally, so it needs nothing; this file keeps both backends at
-- the same schema versions.
SELECT 1;
