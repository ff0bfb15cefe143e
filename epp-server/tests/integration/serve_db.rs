//! The serve path and the database: the store is opened and migrated before the server
//! listens, an unusable database stops the start, and development mode's demo registrar
//! is created once (never in production).

use std::time::Duration;

use epp_session::store::Store;
use epp_session::store::model::{LoginCheck, ObjectKey};
use epp_session::store::suite::cid;
use epp_xml::Password;

use crate::db::{Db, on_both_backends, runtime};
use crate::epp::{code, login};
use crate::harness::{
    Client, ClientOptions, EPP_SERVER, Server, TestCa, base_env, temp, tls_file_env,
};

on_both_backends!(
    the_demo_registrar_is_created_on_first_start_only,
    the_serve_path_migrates_before_listening,
);

fn demo_password(server: &Server) -> String {
    let banner = server.wait_for_log(&["demo registrar:"], Duration::from_secs(10));
    banner
        .rsplit_once("password ")
        .unwrap_or_else(|| panic!("no credentials in {banner:?}"))
        .1
        .trim()
        .to_owned()
}

fn stop(mut server: Server) -> String {
    server.signal("TERM");
    assert!(server.wait_exit(Duration::from_secs(20)).success());
    server.log_text()
}

fn the_demo_registrar_is_created_on_first_start_only(db: &Db) {
    let server = Server::start(&db.env());
    let password = demo_password(&server);
    assert_eq!(password.len(), 16);
    let file = std::fs::read_to_string(db.data.join("dev").join("demo-password")).unwrap();
    assert_eq!(file.trim(), password);
    server.wait_for_log(&["created the demo registrar"], Duration::from_secs(5));

    // The banner's credentials log in over EPP.
    let options = ClientOptions::trusting_file(&db.data.join("dev-tls").join("ca.pem"));
    runtime().block_on(async {
        let (mut client, _) = Client::open(server.epp, &options).await;
        let r = client.call(&login("reg-demo", "wrong-pw-1", "D-1")).await;
        assert_eq!(code(&r), Some(2200), "{r}");
        let r = client.call(&login("reg-demo", &password, "D-2")).await;
        assert_eq!(code(&r), Some(1000), "{r}");
    });
    stop(server);

    let server = Server::start(&db.env());
    assert_eq!(demo_password(&server), password, "the password is stable");
    let log = stop(server);
    assert!(!log.contains("created the demo registrar"), "{log}");

    runtime().block_on(async {
        let store = db.store().await;
        let r = store.registrar(&cid("reg-demo")).await.unwrap().unwrap();
        assert_eq!(r.version, 1, "not recreated or changed");
        assert!(r.enabled);
        let history = store
            .history(&ObjectKey::Registrar(cid("reg-demo")))
            .await
            .unwrap();
        assert_eq!(history.len(), 1);
        assert_eq!(history[0].command, "dev:demo-registrar");
        assert!(matches!(
            store
                .verify_login(&cid("reg-demo"), &Password::new(password.as_str()).unwrap())
                .await
                .unwrap(),
            LoginCheck::Accepted(_)
        ));
    });
}

fn the_serve_path_migrates_before_listening(db: &Db) {
    let check = || {
        runtime()
            .block_on(epp_server::store::check(&db.store_config()))
            .unwrap()
    };
    assert!(!check().exists);
    let server = Server::start(&db.env());
    let lines = server.log_lines();
    let opened = lines
        .iter()
        .position(|l| l.contains("registry database opened; migrations applied"))
        .unwrap_or_else(|| panic!("{}", server.log_text()));
    let listening = lines
        .iter()
        .position(|l| l.contains("listening on"))
        .unwrap();
    assert!(opened < listening, "{}", server.log_text());
    let status = check();
    assert!(status.exists);
    assert_eq!((status.version, status.pending.len()), (4, 0));
    let log = stop(server);

    // A second start finds the schema up to date.
    let server = Server::start(&db.env());
    server.wait_for_log(&["registry database opened"], Duration::from_secs(5));
    assert!(!server.log_text().contains("migrations applied"), "{log}");
    stop(server);
}

#[test]
fn production_never_creates_the_demo_registrar() {
    let db = Db::sqlite();
    let dir = db.data.parent().unwrap().to_owned();
    TestCa::new().write_server_cert(&dir);
    let mut env = db.env_with(&[
        ("EPP_SERVER__MODE", "production"),
        ("EPP_SERVER__NOTIFY__METHOD", "off"),
    ]);
    env.extend(tls_file_env(&dir));
    let server = Server::start(&env);
    let log = stop(server);
    assert!(!log.contains("demo registrar"), "{log}");
    assert!(!db.data.join("dev").exists());
    runtime().block_on(async {
        let store = db.store().await;
        let ids: Vec<String> = store
            .registrars()
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.id.to_string())
            .collect();
        assert_eq!(ids, ["reg0"]);
    });
}

#[test]
fn an_unusable_database_stops_the_start_with_a_clear_message() {
    let (_dir, data) = temp();
    let mut env = base_env(&data);
    env.push((
        "EPP_SERVER__DATABASE__SQLITE_PATH".into(),
        "/dev/null/registry.sqlite3".into(),
    ));
    let mut server = Server::spawn(EPP_SERVER, &env, &[]);
    assert_eq!(server.wait_exit(Duration::from_secs(20)).code(), Some(1));
    let log = server.log_text();
    assert!(
        log.contains("cannot open the registry database (SQLite /dev/null/registry.sqlite3)"),
        "{log}"
    );
    assert!(!log.contains("listening on"), "{log}");

    let mut env = base_env(&data);
    env.extend([
        ("EPP_SERVER__DATABASE__BACKEND".into(), "postgres".into()),
        (
            "EPP_SERVER__DATABASE__POSTGRES_URL".into(),
            "postgres://epp:hunter2-pw@127.0.0.1:1/registry".into(),
        ),
    ]);
    let mut server = Server::spawn(EPP_SERVER, &env, &[]);
    assert_eq!(server.wait_exit(Duration::from_secs(20)).code(), Some(1));
    let log = server.log_text();
    assert!(
        log.contains("cannot open the registry database (PostgreSQL postgres://epp:***@"),
        "{log}"
    );
    assert!(
        !log.contains("hunter2") && !log.contains("listening on"),
        "{log}"
    );
}
