-- A domain's subordinate hosts by an index instead of a scan of every host name (a domain
-- info lists them; at 100 000 hosts the scan cost 14-19 ms, docs/BENCHMARKS.md).
-- `superordinate` is the registrable .no name the host lies under, computed from the host
-- name and Norid's zones (epp_norid_ext::policy::superordinate_name), whether or not that
-- domain is registered: it follows renames, and needs nothing when domains come and go.
-- NULL for hosts outside .no. The store fills it for the existing hosts after this file,
-- in the same transaction.
ALTER TABLE hosts ADD COLUMN superordinate TEXT COLLATE "C";
CREATE INDEX hosts_superordinate ON hosts (superordinate, name);
