-- Lets one server process answer <domain:check> from memory while it is the only writer
-- of `domains` (docs/check-cache.md). Every statement that can add or remove a domain name
-- first takes this schema's "knock" and "writer" advisory locks in shared mode, until its
-- transaction ends, unless it runs in the process that holds the "owner" lock. That
-- process's guard connection holds the owner and writer locks exclusively while it answers
-- from memory; it tries the knock lock every few milliseconds, and when it cannot have it
-- (a writer holds it and waits for the writer lock) it turns the cache off and gives its
-- locks up.
--
-- Keys, with h = hashtext(schema name):
--   writer lock: the bigint (h << 32);
--   owner lock:  the pair (h, t), where t is the process's token (1 to 999999999), sent by
--                its connections as the setting `epp.writer`;
--   knock lock:  the pair (h, 0).
-- A connection of a process that is not the owner (or without the setting, such as psql)
-- gets the owner pair in shared mode at once and goes on to the knock and writer locks.
CREATE FUNCTION domains_writer_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    h integer := hashtext(TG_TABLE_SCHEMA);
    w text := current_setting('epp.writer', true);
BEGIN
    -- Tokens are 1 to 999999999; any other value counts as no token.
    IF w ~ '^[1-9][0-9]{0,8}$' THEN
        IF NOT pg_try_advisory_xact_lock_shared(h, w::integer) THEN
            -- The owner's own statement: its guard holds the owner pair.
            RETURN NULL;
        END IF;
    END IF;
    PERFORM pg_advisory_xact_lock_shared(h, 0);
    PERFORM pg_advisory_xact_lock_shared(h::bigint << 32);
    RETURN NULL;
END
$$;

CREATE TRIGGER domains_writer_guard
    BEFORE INSERT OR DELETE OR UPDATE OF name OR TRUNCATE ON domains
    FOR EACH STATEMENT EXECUTE FUNCTION domains_writer_guard();
