//! typed -> XML -> typed identity for every command and response type of RFC 5730-5733 and
//! RFC 5910, with the strategies of this module: each command kind and each `resData` kind
//! runs its own cases, so none is starved by the others.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fmt::Debug;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

use super::*;
use crate::{
    NoExtensions, Request, ServerDoc, decode, decode_response, encode_greeting, encode_request,
    encode_response,
};

const CASES: u32 = 64;

/// Runs `CASES` cases of `strategy` through `check`, naming `what` on failure.
fn run<T: Debug>(
    what: &str,
    strategy: BoxedStrategy<T>,
    check: impl Fn(T) -> Result<(), TestCaseError>,
) {
    let mut runner = TestRunner::new(Config {
        cases: CASES,
        ..Config::default()
    });
    if let Err(e) = runner.run(&strategy, check) {
        panic!("{what}: {e}");
    }
}

fn request_round_trips(request: Request<NoExtensions>) -> Result<(), TestCaseError> {
    let mut out = Vec::new();
    encode_request(&request, &mut out);
    let back = decode::<NoExtensions>(&out).map_err(|e| {
        TestCaseError::fail(format!(
            "{} {}\n{}",
            e.code(),
            e.reason(),
            String::from_utf8_lossy(&out)
        ))
    })?;
    prop_assert_eq!(back, request, "{}", String::from_utf8_lossy(&out));
    Ok(())
}

fn server_doc_round_trips(doc: ServerDoc<NoExtensions>) -> Result<(), TestCaseError> {
    let mut out = Vec::new();
    match &doc {
        ServerDoc::Greeting(g) => encode_greeting(g, &mut out),
        ServerDoc::Response(r) => encode_response(r, &mut out),
    }
    let back = decode_response::<NoExtensions>(&out).map_err(|e| {
        TestCaseError::fail(format!(
            "{} {}\n{}",
            e.code(),
            e.reason(),
            String::from_utf8_lossy(&out)
        ))
    })?;
    prop_assert_eq!(back, doc, "{}", String::from_utf8_lossy(&out));
    Ok(())
}

#[test]
fn hello_round_trips() {
    request_round_trips(Request::Hello).unwrap();
}

#[test]
fn every_command_kind_round_trips() {
    let ext = ExtStrategies::<NoExtensions>::none();
    for (name, kind) in command_kinds::<NoExtensions>() {
        run(
            name,
            command_with(kind, &ext).prop_map(Request::Command).boxed(),
            request_round_trips,
        );
    }
}

#[test]
fn every_res_data_kind_round_trips() {
    let ext = ExtStrategies::<NoExtensions>::none();
    for (name, kind) in res_data_kinds::<NoExtensions>() {
        run(
            name,
            response_with(kind.prop_map(Some).boxed(), &ext)
                .prop_map(ServerDoc::Response)
                .boxed(),
            server_doc_round_trips,
        );
    }
}

#[test]
fn responses_without_res_data_round_trip() {
    let ext = ExtStrategies::<NoExtensions>::none();
    run(
        "response without resData",
        response_with(Just(None).boxed(), &ext)
            .prop_map(ServerDoc::Response)
            .boxed(),
        server_doc_round_trips,
    );
}

#[test]
fn greetings_round_trip() {
    run(
        "greeting",
        greeting().prop_map(ServerDoc::Greeting).boxed(),
        server_doc_round_trips,
    );
}
