-- A notice queued at most once while it is unread (epp_session::store::Change::EnqueuePollOnce):
-- the copy of a refused transfer that the domain's sponsor gets is not queued again for the
-- same refusal while the earlier copy is still in its queue, so a registrar repeating a
-- refused command cannot flood another registrar's queue. NULL for every other message.
ALTER TABLE poll_messages ADD COLUMN once_key TEXT;
CREATE UNIQUE INDEX poll_messages_once ON poll_messages (registrar, once_key)
    WHERE once_key IS NOT NULL;
