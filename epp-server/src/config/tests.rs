use super::*;

const EXAMPLE: &str = include_str!("../../epp-server.example.toml");
const PRODUCTION_EXAMPLE: &str = include_str!("../../epp-server.production.example.toml");

fn load(text: &str, vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
    Config::from_sources(
        Some(text),
        None,
        vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    )
}

fn problems(err: ConfigError) -> Vec<String> {
    match err {
        ConfigError::Invalid { problems } => problems,
        other => panic!("expected Invalid, got {other}"),
    }
}

#[test]
fn the_example_file_documents_exactly_the_defaults() {
    assert_eq!(load(EXAMPLE, &[]).unwrap(), Config::default());
}

#[test]
fn the_production_example_is_valid() {
    let c = load(PRODUCTION_EXAMPLE, &[]).unwrap();
    assert_eq!(c.mode, Mode::Production);
    assert_eq!(c.server.listen[0].port(), 700);
    assert_eq!(c.database.backend, DatabaseBackend::Postgres);
}

#[test]
fn defaults_match_norid() {
    let c = Config::default();
    assert_eq!(c.server.listen, vec!["127.0.0.1:7000".parse().unwrap()]);
    assert_eq!(
        c.limits.idle_timeout.get(),
        std::time::Duration::from_secs(120)
    );
    assert_eq!(c.limits.commands_per_session, 1200);
    assert_eq!(
        (
            c.limits.sessions_per_registrar,
            c.limits.sessions_per_registrar_max
        ),
        (1, 9)
    );
    assert_eq!(c.tls.client_certificates, ClientCertPolicy::Optional);
    assert_eq!(c.rate_limits.create, RateLimitSetting::Off);
    assert_eq!(c.session.sv_trid_suffix, "NORID");
    assert!(c.validate().is_ok());
}

#[test]
fn no_file_means_defaults() {
    let c = Config::from_sources(None, None, Vec::new()).unwrap();
    assert_eq!(c, Config::default());
}

#[test]
fn unknown_keys_are_refused_with_their_name() {
    let err = load("[limits]\nidle_timeut = \"5s\"\n", &[]).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("idle_timeut"), "{text}");
    let err = load("[nosuch]\n", &[]).unwrap_err();
    assert!(err.to_string().contains("nosuch"), "{err}");
}

#[test]
fn malformed_toml_is_refused_with_a_position() {
    let err = load("mode = \n", &[]).unwrap_err();
    assert!(matches!(err, ConfigError::Parse { .. }), "{err}");
    assert!(err.to_string().contains("line 1"), "{err}");
}

#[test]
fn durations_parse_in_every_unit_and_refuse_nonsense() {
    let c = load(
        "[limits]\nprelogin_timeout = \"500ms\"\nidle_timeout = \"2m\"\nwrite_timeout = 7\n\
         shutdown_grace = \"1h\"\n",
        &[],
    )
    .unwrap();
    assert_eq!(c.limits.prelogin_timeout.get().as_millis(), 500);
    assert_eq!(c.limits.idle_timeout.get().as_secs(), 120);
    assert_eq!(c.limits.write_timeout.get().as_secs(), 7);
    assert_eq!(c.limits.shutdown_grace.get().as_secs(), 3600);
    for bad in [
        "\"5\"",
        "\"s\"",
        "\"5 parsecs\"",
        "\"-5s\"",
        "-5",
        "\"1.5s\"",
    ] {
        let err = load(&format!("[limits]\nidle_timeout = {bad}\n"), &[]).unwrap_err();
        assert!(err.to_string().contains("idle_timeout"), "{bad}: {err}");
    }
}

#[test]
fn durations_print_back_in_the_largest_exact_unit() {
    for (text, shown) in [
        ("120s", "2m"),
        ("90s", "90s"),
        ("1500ms", "1500ms"),
        ("0s", "0s"),
    ] {
        let d: HumanDuration = text.parse().unwrap();
        assert_eq!(d.to_string(), shown);
        assert_eq!(shown.parse::<HumanDuration>().unwrap(), d);
    }
    let s: SignedDuration = "-30d".parse().unwrap();
    assert_eq!(s.as_micros(), -30 * 86_400 * 1_000_000);
    assert_eq!(s.to_string(), "-30d");
    assert_eq!("+2h".parse::<SignedDuration>().unwrap().to_string(), "2h");
}

#[test]
fn rate_limits_parse() {
    let c = load(
        "[rate_limits]\ncheck_info_poll = \"600/1m\"\ncreate = \"OFF\"\n",
        &[],
    )
    .unwrap();
    assert_eq!(
        c.rate_limits.check_info_poll,
        RateLimitSetting::Limit {
            count: 600,
            per: HumanDuration::from_secs(60)
        }
    );
    assert_eq!(c.rate_limits.create, RateLimitSetting::Off);
    for bad in ["0/1m", "10/0s", "ten/1m", "10", "10/"] {
        let err = load(&format!("[rate_limits]\ncreate = \"{bad}\"\n"), &[]).unwrap_err();
        assert!(err.to_string().contains("create"), "{bad}: {err}");
    }
}

#[test]
fn environment_overrides_every_kind_of_key() {
    let c = load(
        "",
        &[
            ("EPP_SERVER__MODE", "production"),
            ("EPP_SERVER__NOTIFY__METHOD", "off"),
            ("EPP_SERVER__TLS__CERT_CHAIN", "/tls/cert.pem"),
            ("epp_server__tls__private_key", "/tls/key.pem"),
            ("EPP_SERVER__LIMITS__COMMANDS_PER_SESSION", "900"),
            ("EPP_SERVER__LIMITS__IDLE_TIMEOUT", "60s"),
            ("EPP_SERVER__SERVER__LISTEN", "0.0.0.0:700, [::]:700"),
            ("EPP_SERVER__METRICS__ENABLED", "false"),
            ("EPP_SERVER__SESSION__SV_TRID_SUFFIX", "123"),
            ("EPP_SERVER_CONFIG", "/not/an/override.toml"),
            ("PATH", "/usr/bin"),
        ],
    )
    .unwrap();
    assert_eq!(c.mode, Mode::Production);
    assert_eq!(
        c.tls.private_key.as_deref(),
        Some(Path::new("/tls/key.pem"))
    );
    assert_eq!(c.limits.commands_per_session, 900);
    assert_eq!(c.limits.idle_timeout.get().as_secs(), 60);
    assert_eq!(c.server.listen.len(), 2);
    assert_eq!(c.server.listen[1].port(), 700);
    assert!(!c.metrics.enabled);
    assert_eq!(c.session.sv_trid_suffix, "123");
}

#[test]
fn environment_overrides_win_over_the_file_and_accept_toml_arrays() {
    let c = load(
        "[server]\nlisten = [\"127.0.0.1:1\"]\n[limits]\nconnections_per_ip = 3\n",
        &[
            (
                "EPP_SERVER__SERVER__LISTEN",
                "[\"127.0.0.1:2\", \"127.0.0.1:3\"]",
            ),
            ("EPP_SERVER__LIMITS__CONNECTIONS_PER_IP", "5"),
        ],
    )
    .unwrap();
    assert_eq!(c.server.listen.len(), 2);
    assert_eq!(c.server.listen[0].port(), 2);
    assert_eq!(c.limits.connections_per_ip, 5);
}

#[test]
fn a_bad_override_names_the_variable() {
    let err = load("", &[("EPP_SERVER__LIMITS__IDLE_TIMEOUT", "soon")]).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("EPP_SERVER__LIMITS__IDLE_TIMEOUT"), "{text}");
    let err = load("", &[("EPP_SERVER__LIMITS__NOSUCH", "1")]).unwrap_err();
    assert!(err.to_string().contains("nosuch"), "{err}");
    let err = load("", &[("EPP_SERVER__MODE__X", "1")]).unwrap_err();
    assert!(err.to_string().contains("EPP_SERVER__MODE__X"), "{err}");
    let err = load("", &[("EPP_SERVER____X", "1")]).unwrap_err();
    assert!(matches!(err, ConfigError::Env { .. }), "{err}");
}

#[test]
fn an_override_cannot_smuggle_in_other_keys() {
    let c = load(
        "",
        &[("EPP_SERVER__LOG__LEVEL", "info\nmode = \"production\"")],
    );
    // The value is taken as one string (and then refused as a filter), never as TOML.
    let err = c.unwrap_err();
    assert!(err.to_string().contains("log.level"), "{err}");
    let c = load(
        "",
        &[(
            "EPP_SERVER__LIMITS__COMMANDS_PER_SESSION",
            "5\nmode = \"production\"",
        )],
    );
    assert!(c.is_err());
}

#[test]
fn production_refuses_development_and_test_features() {
    let p = problems(load("mode = \"production\"\n", &[]).unwrap_err());
    assert!(
        p.iter().any(|p| p.contains("required in production")),
        "{p:?}"
    );
    let p = problems(
        load(
            "mode = \"production\"\n[tls]\ncert_chain = \"c\"\nprivate_key = \"k\"\n\
             [testing]\nclock_offset = \"+30d\"\n[notify]\nmethod = \"off\"\n",
            &[],
        )
        .unwrap_err(),
    );
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(p[0].contains("testing.clock_offset"), "{p:?}");
    // The same offset is fine in development.
    let c = load("[testing]\nclock_offset = \"+30d\"\n", &[]).unwrap();
    assert_eq!(c.testing.clock_offset.as_micros(), 30 * 86_400 * 1_000_000);
}

#[test]
fn validation_reports_every_problem_at_once() {
    let p = problems(
        load(
            "[server]\nlisten = []\n[tls]\ncert_chain = \"c\"\nversions = []\n\
             [database]\nbackend = \"postgres\"\npool_size = 0\n\
             [limits]\nmax_frame_size = 100\nidle_timeout = \"0s\"\ncommands_per_session = 0\n\
             sessions_per_registrar = 10\nconnections_per_ip = 0\n\
             [session]\nsv_trid_suffix = \"NO RID\"\nserver_id = \" \"\n\
             [log]\nlevel = \"epp_server=loud\"\n[development]\ndemo_registrar = \"x\"\n",
            &[],
        )
        .unwrap_err(),
    );
    for key in [
        "server.listen",
        "tls.cert_chain and tls.private_key",
        "tls.versions",
        "database.postgres_url",
        "database.pool_size",
        "limits.max_frame_size",
        "limits.idle_timeout",
        "limits.commands_per_session",
        "limits.sessions_per_registrar",
        "limits.connections_per_ip",
        "session.sv_trid_suffix",
        "session.server_id",
        "log.level",
        "development.demo_registrar",
    ] {
        assert!(p.iter().any(|p| p.contains(key)), "{key} missing in {p:#?}");
    }
    assert_eq!(p.len(), 14, "{p:#?}");
}

#[test]
fn postgres_passwords_are_redacted_everywhere() {
    for (url, shown) in [
        (
            "postgres://epp:s3cret@db:5432/reg",
            "postgres://epp:***@db:5432/reg",
        ),
        (
            "postgresql://epp:p@ss@db/reg?sslmode=require",
            "postgresql://epp:***@db/reg?sslmode=require",
        ),
        (
            "postgres://epp@db/reg?password=s3cret&x=1",
            "postgres://epp@db/reg?password=***&x=1",
        ),
        (
            "host=db user=epp password=s3cret dbname=reg",
            "host=db user=epp password=*** dbname=reg",
        ),
        (
            "host=db password = 'se cret' dbname=reg",
            "host=db password=*** dbname=reg",
        ),
        ("postgres://db/reg", "postgres://db/reg"),
    ] {
        assert_eq!(Secret::new(url).redacted(), shown, "{url}");
    }
    let c = load(
        "[database]\nbackend = \"postgres\"\n",
        &[(
            "EPP_SERVER__DATABASE__POSTGRES_URL",
            "postgres://epp:s3cret@db/reg",
        )],
    )
    .unwrap();
    assert_eq!(
        c.database.postgres_url.as_ref().unwrap().expose(),
        "postgres://epp:s3cret@db/reg"
    );
    let toml = c.to_redacted_toml().unwrap();
    assert!(toml.contains("postgres://epp:***@db/reg"), "{toml}");
    assert!(!toml.contains("s3cret"));
    assert!(!format!("{c:?}").contains("s3cret"));
}

#[test]
fn the_effective_configuration_reparses_to_itself() {
    let c = load(PRODUCTION_EXAMPLE, &[]).unwrap();
    let again = load(&c.to_redacted_toml().unwrap(), &[]).unwrap();
    assert_eq!(again, c);
}

#[test]
fn the_database_section_maps_to_the_store_configuration() {
    use crate::store::{Durability, StoreConfig};
    let c = load(
        "data_dir = \"/srv/epp\"\n[database]\nsqlite_durability = \"normal\"\n",
        &[],
    )
    .unwrap();
    match c.store_config().unwrap() {
        StoreConfig::Sqlite(s) => {
            assert_eq!(s.path, PathBuf::from("/srv/epp/registry.sqlite3"));
            assert_eq!(s.durability, Durability::Normal);
            assert_eq!(s.poll_summary_ttl, std::time::Duration::from_secs(1));
            assert!(s.check_cache, "on by default");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(c.database_label(), "SQLite /srv/epp/registry.sqlite3");

    let c = load(
        "[database]\nbackend = \"postgres\"\npostgres_url = \"postgres://epp:pw@db/reg\"\n\
         postgres_schema = \"epp_test\"\npool_size = 7\nconnect_timeout = \"2s\"\n\
         poll_summary_ttl = \"0s\"\n",
        &[],
    )
    .unwrap();
    match c.store_config().unwrap() {
        StoreConfig::Postgres(p) => {
            assert_eq!(p.url, "postgres://epp:pw@db/reg");
            assert_eq!(p.pool_size, 7);
            assert_eq!(p.schema.as_deref(), Some("epp_test"));
            assert_eq!(p.connect_timeout, std::time::Duration::from_secs(2));
            assert_eq!(p.poll_summary_ttl, std::time::Duration::ZERO);
            assert!(p.check_cache, "on by default");
        }
        other => panic!("{other:?}"),
    }
    let off = load(
        "[database]\nbackend = \"postgres\"\npostgres_url = \"postgres://db/reg\"\n\
         check_cache = false\n",
        &[],
    )
    .unwrap();
    match off.store_config().unwrap() {
        StoreConfig::Postgres(p) => assert!(!p.check_cache),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        c.database_label(),
        "PostgreSQL postgres://epp:***@db/reg (schema epp_test)"
    );
}

#[test]
fn schema_names_must_be_plain_identifiers() {
    for bad in ["Registry", "1abc", "a-b", "x; DROP TABLE y", ""] {
        let text = format!("[database]\npostgres_schema = {bad:?}\n");
        let p = problems(load(&text, &[]).unwrap_err());
        assert!(p[0].contains("database.postgres_schema"), "{bad}: {p:?}");
    }
    assert!(load("[database]\npostgres_schema = \"_epp_2\"\n", &[]).is_ok());
}

#[test]
fn the_log_notifier_is_refused_in_production_and_exec_needs_both_commands() {
    let p =
        problems(load(PRODUCTION_EXAMPLE, &[("EPP_SERVER__NOTIFY__METHOD", "log")]).unwrap_err());
    assert!(
        p.iter().any(|p| p.contains("notify.method = \"log\"")),
        "{p:?}"
    );
    let p = problems(load("[notify]\nmethod = \"exec\"\nemail_command = []\n", &[]).unwrap_err());
    assert_eq!(p.len(), 2, "{p:?}");
    assert!(p[0].contains("notify.email_command") && p[1].contains("notify.sms_command"));
    let c = load(
        "[notify]\nmethod = \"exec\"\nsms_command = [\"/usr/local/bin/sms\"]\n",
        &[("EPP_SERVER__NOTIFY__EMAIL_COMMAND", "/usr/bin/mail-it,--")],
    )
    .unwrap();
    assert_eq!(c.notify.email_command, ["/usr/bin/mail-it", "--"]);
    let p = problems(
        load(
            "[notify]\nretry_initial = \"10m\"\nretry_max = \"1m\"\nconcurrency = 0\n",
            &[],
        )
        .unwrap_err(),
    );
    assert_eq!(p.len(), 2, "{p:?}");
}
