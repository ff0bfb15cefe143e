-- The registry schema, PostgreSQL. Portable to CockroachDB and YugabyteDB: standard types,
-- explicit sequences, no extensions, no advisory locks. Timestamps are microseconds since
-- the Unix epoch (BIGINT), days are ISO 'YYYY-MM-DD' text; key columns use the "C"
-- collation so that listings order by bytes, as the other stores do.
--
-- Each object table keeps the columns the store looks up, links or lists by, plus `data`:
-- the whole object as JSON (epp-session's model). The link tables turn every reference
-- into a foreign key, so the database itself refuses dangling references and deleting
-- what is still referenced.

CREATE TABLE registrars (
    id                    TEXT COLLATE "C" PRIMARY KEY,
    name                  TEXT NOT NULL,
    password_hash         TEXT NOT NULL,
    pending_password_hash TEXT,
    cert_pins             TEXT NOT NULL,
    session_limit         BIGINT NOT NULL,
    enabled               BOOLEAN NOT NULL,
    created               BIGINT NOT NULL,
    version               BIGINT NOT NULL
);

-- The pseudo-registrar holding withdrawn domains; '!' is no valid hash: it cannot log in.
INSERT INTO registrars VALUES ('reg0', 'Withdrawn domains', '!', NULL, '', 0, FALSE, 0, 1);

CREATE TABLE contacts (
    id      TEXT COLLATE "C" PRIMARY KEY,
    roid    TEXT NOT NULL UNIQUE,
    cl_id   TEXT COLLATE "C" NOT NULL REFERENCES registrars (id),
    version BIGINT NOT NULL,
    data    TEXT NOT NULL
);
CREATE INDEX contacts_cl_id ON contacts (cl_id, id);

-- Contact-to-contact references: 'organization' and 'roleContact'.
CREATE TABLE contact_links (
    contact TEXT COLLATE "C" NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    role    TEXT NOT NULL,
    target  TEXT COLLATE "C" NOT NULL REFERENCES contacts (id),
    PRIMARY KEY (contact, role, target)
);
CREATE INDEX contact_links_target ON contact_links (target, contact);

-- Hosts are keyed by ROID, their identity across renames.
CREATE TABLE hosts (
    roid    TEXT PRIMARY KEY,
    name    TEXT COLLATE "C" NOT NULL UNIQUE,
    cl_id   TEXT COLLATE "C" NOT NULL REFERENCES registrars (id),
    pending BOOLEAN NOT NULL,
    version BIGINT NOT NULL,
    data    TEXT NOT NULL
);
CREATE INDEX hosts_cl_id ON hosts (cl_id, name);

CREATE TABLE host_contacts (
    host    TEXT NOT NULL REFERENCES hosts (roid) ON DELETE CASCADE,
    contact TEXT COLLATE "C" NOT NULL REFERENCES contacts (id),
    PRIMARY KEY (host, contact)
);
CREATE INDEX host_contacts_contact ON host_contacts (contact);

CREATE TABLE domains (
    name                 TEXT COLLATE "C" PRIMARY KEY,
    roid                 TEXT NOT NULL UNIQUE,
    cl_id                TEXT COLLATE "C" NOT NULL REFERENCES registrars (id),
    registrant           TEXT COLLATE "C" NOT NULL REFERENCES contacts (id),
    ex_date              BIGINT NOT NULL,
    lifecycle            TEXT NOT NULL,
    lifecycle_since      BIGINT,
    delete_from_dns      TEXT,
    delete_from_registry TEXT,
    version              BIGINT NOT NULL,
    data                 TEXT NOT NULL
);
CREATE INDEX domains_cl_id ON domains (cl_id, name);
CREATE INDEX domains_registrant ON domains (registrant, name);
CREATE INDEX domains_expiry ON domains (lifecycle, ex_date);
CREATE INDEX domains_lifecycle_since ON domains (lifecycle, lifecycle_since);
CREATE INDEX domains_delete_from_dns ON domains (delete_from_dns);
CREATE INDEX domains_delete_from_registry ON domains (delete_from_registry);

CREATE TABLE domain_contacts (
    domain  TEXT COLLATE "C" NOT NULL REFERENCES domains (name) ON DELETE CASCADE,
    role    TEXT NOT NULL,
    contact TEXT COLLATE "C" NOT NULL REFERENCES contacts (id),
    PRIMARY KEY (domain, role, contact)
);
CREATE INDEX domain_contacts_contact ON domain_contacts (contact, domain);

-- Name servers by host name: a host rename cascades into these rows.
CREATE TABLE domain_hosts (
    domain TEXT COLLATE "C" NOT NULL REFERENCES domains (name) ON DELETE CASCADE,
    host   TEXT COLLATE "C" NOT NULL REFERENCES hosts (name) ON UPDATE CASCADE,
    PRIMARY KEY (domain, host)
);
CREATE INDEX domain_hosts_host ON domain_hosts (host, domain);

CREATE TABLE transfer_tokens (
    domain       TEXT COLLATE "C" PRIMARY KEY REFERENCES domains (name) ON DELETE CASCADE,
    token_hash   TEXT NOT NULL,
    requested_by TEXT COLLATE "C" NOT NULL REFERENCES registrars (id),
    channel      TEXT NOT NULL,
    target       TEXT NOT NULL,
    created      BIGINT NOT NULL,
    expires      BIGINT NOT NULL
);

CREATE SEQUENCE poll_message_ids;
CREATE TABLE poll_messages (
    id        BIGINT PRIMARY KEY DEFAULT nextval('poll_message_ids'),
    registrar TEXT COLLATE "C" NOT NULL REFERENCES registrars (id),
    q_date    BIGINT NOT NULL,
    msg       TEXT NOT NULL,
    kind      TEXT NOT NULL,
    payload   TEXT NOT NULL
);
CREATE INDEX poll_messages_queue ON poll_messages (registrar, id);
CREATE INDEX poll_messages_q_date ON poll_messages (q_date);

CREATE SEQUENCE history_ids;
CREATE TABLE history (
    id          BIGINT PRIMARY KEY DEFAULT nextval('history_ids'),
    object_kind TEXT NOT NULL,
    object_key  TEXT COLLATE "C" NOT NULL,
    roid        TEXT,
    registrar   TEXT,
    at          BIGINT NOT NULL,
    cl_trid     TEXT,
    sv_trid     TEXT,
    command     TEXT NOT NULL,
    before_data TEXT,
    after_data  TEXT
);
CREATE INDEX history_object ON history (object_kind, object_key, id);

CREATE SEQUENCE notification_ids;
CREATE TABLE notifications (
    id        BIGINT PRIMARY KEY DEFAULT nextval('notification_ids'),
    channel   TEXT NOT NULL,
    recipient TEXT NOT NULL,
    subject   TEXT,
    body      TEXT NOT NULL,
    created   BIGINT NOT NULL,
    delivered BIGINT
);
CREATE INDEX notifications_pending ON notifications (id) WHERE delivered IS NULL;

CREATE TABLE replays (
    registrar TEXT COLLATE "C" NOT NULL,
    cl_trid   TEXT COLLATE "C" NOT NULL,
    created   BIGINT NOT NULL,
    response  BYTEA NOT NULL,
    PRIMARY KEY (registrar, cl_trid)
);
CREATE INDEX replays_created ON replays (created);

-- Object id sequences (Store::allocate_id).
CREATE SEQUENCE seq_contact_id;
CREATE SEQUENCE seq_contact_roid;
CREATE SEQUENCE seq_domain_roid;
CREATE SEQUENCE seq_host_roid;
