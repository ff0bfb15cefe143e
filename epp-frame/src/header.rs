use crate::FrameError;

/// Length of the RFC 5734 data-unit header in bytes.
pub const HEADER_LEN: usize = 4;

/// Parses the data-unit header at the start of `buf`.
///
/// Returns `Ok(None)` while fewer than [`HEADER_LEN`] bytes are available, otherwise the
/// declared *total* length (header included) as `usize`, already checked to be greater
/// than [`HEADER_LEN`] and at most `max`.
///
/// # Errors
///
/// [`FrameError::LengthTooSmall`] for a declared length of four or less, and
/// [`FrameError::FrameTooLarge`] for one above `max`.
pub fn parse_header(buf: &[u8], max: u32) -> Result<Option<usize>, FrameError> {
    let Some(&[a, b, c, d]) = buf.first_chunk::<HEADER_LEN>() else {
        return Ok(None);
    };
    let declared = u32::from_be_bytes([a, b, c, d]);
    if declared as usize <= HEADER_LEN {
        return Err(FrameError::LengthTooSmall { declared });
    }
    if declared > max {
        return Err(FrameError::FrameTooLarge { declared, max });
    }
    // u32 always fits in usize on the 32- and 64-bit targets this crate supports.
    Ok(Some(declared as usize))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_buffer_needs_more() {
        for n in 0..HEADER_LEN {
            assert!(parse_header(&[0, 0, 0, 9][..n], 100).unwrap().is_none());
        }
    }

    #[test]
    fn reads_big_endian_total_length() {
        assert_eq!(parse_header(&[0, 0, 1, 2, b'<'], 1000).unwrap(), Some(258));
    }

    #[test]
    fn length_of_four_or_less_is_refused() {
        for declared in 0..=4u32 {
            let err = parse_header(&declared.to_be_bytes(), 100).unwrap_err();
            assert!(matches!(err, FrameError::LengthTooSmall { declared: d } if d == declared));
        }
    }

    #[test]
    fn length_above_max_is_refused() {
        let err = parse_header(&u32::MAX.to_be_bytes(), 65_536).unwrap_err();
        assert!(matches!(
            err,
            FrameError::FrameTooLarge {
                declared: u32::MAX,
                max: 65_536
            }
        ));
        assert_eq!(
            parse_header(&65_536u32.to_be_bytes(), 65_536).unwrap(),
            Some(65_536)
        );
    }
}
