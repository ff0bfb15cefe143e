//! Bodies of the `norid_roundtrip` and `response_roundtrip` fuzz targets, shared with the
//! corpus replay tests.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use epp_xml::{Request, ResultCode, ServerDoc, SvTrid};

use crate::{Norid, NoridResponse, decode_response, encode_response};

/// Decodes `data` with Norid's extensions; a decoded document must survive
/// parse -> encode -> parse and a prefix rewrite unchanged (see
/// [`epp_xml::fuzz_target::roundtrip`]), and the response echoing it must serialise and
/// decode back to itself; a refused document must serialise as an error response carrying
/// its clTRID, which decodes back to itself too.
pub fn norid_roundtrip(data: &[u8]) {
    epp_xml::fuzz_target::roundtrip::<Norid>(data);
    let sv = SvTrid::new("fuzz-sv-trid").unwrap();
    let response = match crate::decode(data) {
        Ok(Request::Command(c)) => NoridResponse::new(ResultCode::Success, c.cl_trid, sv),
        Ok(Request::Hello) => return,
        Err(e) => {
            let r = NoridResponse::from_error(&e, sv);
            assert_eq!(r.tr_id.cl_trid.as_ref(), e.cl_trid());
            r
        }
    };
    let mut out = Vec::new();
    encode_response(&response, &mut out);
    assert!(out.starts_with(epp_xml::xml::DECLARATION.as_bytes()));
    match decode_response(&out) {
        Ok(back) => assert_eq!(back, ServerDoc::Response(response)),
        Err(e) => panic!(
            "our own response is refused: {} {}\n{}",
            e.code(),
            e.reason(),
            String::from_utf8_lossy(&out)
        ),
    }
}

/// Decodes `data` as a server document with Norid's extensions; a decoded document must
/// survive parse -> encode -> parse unchanged.
pub fn response_roundtrip(data: &[u8]) {
    epp_xml::fuzz_target::response_roundtrip::<Norid>(data);
}

#[cfg(test)]
mod tests {
    #[test]
    fn fuzz_corpora_replay_cleanly() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus");
        for (target, f) in [
            ("norid_roundtrip", super::norid_roundtrip as fn(&[u8])),
            ("response_roundtrip", super::response_roundtrip as fn(&[u8])),
        ] {
            let dir = root.join(target);
            let mut n = 0;
            for entry in std::fs::read_dir(&dir).expect("fuzz corpus directory exists") {
                f(&std::fs::read(entry.unwrap().path()).unwrap());
                n += 1;
            }
            assert!(n >= 5, "corpus at {} has only {n} inputs", dir.display());
        }
    }
}
