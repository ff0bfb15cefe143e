//! Body of the `norid_roundtrip` fuzz target, shared with the corpus replay test.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use epp_xml::{Request, ResultCode, SvTrid};

use crate::{Norid, NoridResponse, encode_response};

/// Decodes `data` with Norid's extensions; a decoded document must decode to the same value
/// after a prefix rewrite, and the response echoing it must serialise; a refused document
/// must serialise as an error response carrying its clTRID.
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
}

#[cfg(test)]
mod tests {
    #[test]
    fn fuzz_corpus_replays_cleanly() {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/norid_roundtrip");
        let mut n = 0;
        for entry in std::fs::read_dir(&dir).expect("fuzz corpus directory exists") {
            super::norid_roundtrip(&std::fs::read(entry.unwrap().path()).unwrap());
            n += 1;
        }
        assert!(n >= 5, "corpus at {} has only {n} inputs", dir.display());
    }
}
