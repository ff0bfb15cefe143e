-- The registry schema, SQLite. The same tables as the PostgreSQL schema (see its comments),
-- as STRICT tables: BIGINT and BOOLEAN become INTEGER, BYTEA becomes BLOB, text compares
-- bytewise by default, and the id sequences live in a table because SQLite has none.

CREATE TABLE registrars (
    id                    TEXT PRIMARY KEY,
    name                  TEXT NOT NULL,
    password_hash         TEXT NOT NULL,
    pending_password_hash TEXT,
    cert_pins             TEXT NOT NULL,
    session_limit         INTEGER NOT NULL,
    enabled               INTEGER NOT NULL,
    created               INTEGER NOT NULL,
    version               INTEGER NOT NULL
) STRICT;

-- The pseudo-registrar holding withdrawn domains; '!' is no valid hash: it cannot log in.
INSERT INTO registrars VALUES ('reg0', 'Withdrawn domains', '!', NULL, '', 0, 0, 0, 1);

CREATE TABLE contacts (
    id      TEXT PRIMARY KEY,
    roid    TEXT NOT NULL UNIQUE,
    cl_id   TEXT NOT NULL REFERENCES registrars (id),
    version INTEGER NOT NULL,
    data    TEXT NOT NULL
) STRICT;
CREATE INDEX contacts_cl_id ON contacts (cl_id, id);

-- Contact-to-contact references: 'organization' and 'roleContact'.
CREATE TABLE contact_links (
    contact TEXT NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    role    TEXT NOT NULL,
    target  TEXT NOT NULL REFERENCES contacts (id),
    PRIMARY KEY (contact, role, target)
) STRICT;
CREATE INDEX contact_links_target ON contact_links (target, contact);

-- Hosts are keyed by ROID, their identity across renames.
CREATE TABLE hosts (
    roid    TEXT PRIMARY KEY,
    name    TEXT NOT NULL UNIQUE,
    cl_id   TEXT NOT NULL REFERENCES registrars (id),
    pending INTEGER NOT NULL,
    version INTEGER NOT NULL,
    data    TEXT NOT NULL
) STRICT;
CREATE INDEX hosts_cl_id ON hosts (cl_id, name);

CREATE TABLE host_contacts (
    host    TEXT NOT NULL REFERENCES hosts (roid) ON DELETE CASCADE,
    contact TEXT NOT NULL REFERENCES contacts (id),
    PRIMARY KEY (host, contact)
) STRICT;
CREATE INDEX host_contacts_contact ON host_contacts (contact);

CREATE TABLE domains (
    name                 TEXT PRIMARY KEY,
    roid                 TEXT NOT NULL UNIQUE,
    cl_id                TEXT NOT NULL REFERENCES registrars (id),
    registrant           TEXT NOT NULL REFERENCES contacts (id),
    ex_date              INTEGER NOT NULL,
    lifecycle            TEXT NOT NULL,
    lifecycle_since      INTEGER,
    delete_from_dns      TEXT,
    delete_from_registry TEXT,
    version              INTEGER NOT NULL,
    data                 TEXT NOT NULL
) STRICT;
CREATE INDEX domains_cl_id ON domains (cl_id, name);
CREATE INDEX domains_registrant ON domains (registrant, name);
CREATE INDEX domains_expiry ON domains (lifecycle, ex_date);
CREATE INDEX domains_lifecycle_since ON domains (lifecycle, lifecycle_since);
CREATE INDEX domains_delete_from_dns ON domains (delete_from_dns);
CREATE INDEX domains_delete_from_registry ON domains (delete_from_registry);

CREATE TABLE domain_contacts (
    domain  TEXT NOT NULL REFERENCES domains (name) ON DELETE CASCADE,
    role    TEXT NOT NULL,
    contact TEXT NOT NULL REFERENCES contacts (id),
    PRIMARY KEY (domain, role, contact)
) STRICT;
CREATE INDEX domain_contacts_contact ON domain_contacts (contact, domain);

-- Name servers by host name: a host rename cascades into these rows.
CREATE TABLE domain_hosts (
    domain TEXT NOT NULL REFERENCES domains (name) ON DELETE CASCADE,
    host   TEXT NOT NULL REFERENCES hosts (name) ON UPDATE CASCADE,
    PRIMARY KEY (domain, host)
) STRICT;
CREATE INDEX domain_hosts_host ON domain_hosts (host, domain);

CREATE TABLE transfer_tokens (
    domain       TEXT PRIMARY KEY REFERENCES domains (name) ON DELETE CASCADE,
    token_hash   TEXT NOT NULL,
    requested_by TEXT NOT NULL REFERENCES registrars (id),
    channel      TEXT NOT NULL,
    target       TEXT NOT NULL,
    created      INTEGER NOT NULL,
    expires      INTEGER NOT NULL
) STRICT;

CREATE TABLE poll_messages (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    registrar TEXT NOT NULL REFERENCES registrars (id),
    q_date    INTEGER NOT NULL,
    msg       TEXT NOT NULL,
    kind      TEXT NOT NULL,
    payload   TEXT NOT NULL
) STRICT;
CREATE INDEX poll_messages_queue ON poll_messages (registrar, id);
CREATE INDEX poll_messages_q_date ON poll_messages (q_date);

CREATE TABLE history (
    id          INTEGER PRIMARY KEY,
    object_kind TEXT NOT NULL,
    object_key  TEXT NOT NULL,
    roid        TEXT,
    registrar   TEXT,
    at          INTEGER NOT NULL,
    cl_trid     TEXT,
    sv_trid     TEXT,
    command     TEXT NOT NULL,
    before_data TEXT,
    after_data  TEXT
) STRICT;
CREATE INDEX history_object ON history (object_kind, object_key, id);

CREATE TABLE notifications (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    channel   TEXT NOT NULL,
    recipient TEXT NOT NULL,
    subject   TEXT,
    body      TEXT NOT NULL,
    created   INTEGER NOT NULL,
    delivered INTEGER
) STRICT;
CREATE INDEX notifications_pending ON notifications (id) WHERE delivered IS NULL;

CREATE TABLE replays (
    registrar TEXT NOT NULL,
    cl_trid   TEXT NOT NULL,
    created   INTEGER NOT NULL,
    response  BLOB NOT NULL,
    PRIMARY KEY (registrar, cl_trid)
) STRICT;
CREATE INDEX replays_created ON replays (created);

-- Object id sequences (Store::allocate_id): the next free number of each; processes
-- reserve blocks of numbers from here.
CREATE TABLE sequences (
    name       TEXT PRIMARY KEY,
    next_value INTEGER NOT NULL
) STRICT;
INSERT INTO sequences VALUES ('contact_id', 1), ('contact_roid', 1), ('domain_roid', 1),
    ('host_roid', 1);
