use super::*;

/// The canonical JSON of a valid schema with `filters` fields (the field layout when more than
/// one) of `bits` bits each and `block_keys` blocking keys: what a header's fields must agree
/// with.
fn schema_json(bits: u32, filters: u16, block_keys: u16) -> Vec<u8> {
    let layout = if filters > 1 { "field" } else { "clk" };
    let mut toml = format!(
        "version = 1\nid_column = \"id\"\n[filter]\nlayout = \"{layout}\"\nlength_bits = {bits}\n"
    );
    for f in 0..filters.max(1) {
        toml.push_str(&format!(
            "[[fields]]\nname = \"f{f}\"\ntokenizer = {{ kind = \"qgram\", q = 2 }}\nbits_per_token = 5\n"
        ));
    }
    for k in 0..block_keys {
        toml.push_str(&format!(
            "[[blocking]]\nname = \"k{k}\"\nparts = [{{ field = \"f0\" }}]\n"
        ));
    }
    crate::schema::Schema::from_toml_str(&toml)
        .unwrap()
        .canonical_json()
}

fn params(words_bits: u32, filters: u16) -> ClkParams {
    let schema_json = schema_json(words_bits, filters, 0);
    ClkParams {
        schema_fingerprint: SchemaFingerprint(Sha256::digest(&schema_json).into()),
        key_fingerprint: KeyFingerprint([7; 32]),
        layout: if filters > 1 {
            Layout::Field
        } else {
            Layout::Clk
        },
        hashing: HashingScheme::HmacSha256,
        filter_bits: words_bits,
        filters_per_record: filters,
        block_keys: 0,
        missing_masks: false,
        schema_json,
    }
}

fn write(
    dir: &Path,
    records: &[(&str, Vec<u64>)],
    p: ClkParams,
) -> Result<(PathBuf, ClkSummary), ClkError> {
    let path = dir.join("x.clk");
    let mut w = ClkWriter::create(&path, p)?;
    for (i, (id, words)) in records.iter().enumerate() {
        w.write_record(i as u64 + 1, id, words, &[])?;
    }
    let (file, summary) = w.finish()?;
    file.commit().unwrap();
    Ok((path, summary))
}

use std::path::PathBuf;

fn sample() -> Vec<(&'static str, Vec<u64>)> {
    vec![
        ("a", vec![1, 2]),
        ("record-0002", vec![u64::MAX, 0]),
        ("ü-id", vec![0x0123_4567_89ab_cdef, 42]),
    ]
}

#[test]
fn round_trip_streaming_and_bulk() {
    let dir = tempfile::tempdir().unwrap();
    let (path, summary) = write(dir.path(), &sample(), params(128, 1)).unwrap();
    assert_eq!(summary.header.record_count, 3);
    assert_eq!(summary.header.id_width, 16);
    assert_eq!(
        std::fs::metadata(&path).unwrap().len(),
        summary.header.file_len()
    );
    assert_eq!(
        summary.file_sha256,
        <[u8; 32]>::from(Sha256::digest(std::fs::read(&path).unwrap()))
    );

    let mut r = ClkReader::open(&path).unwrap();
    assert_eq!(r.header(), &summary.header);
    let mut rec = ClkRecord::default();
    let mut got = Vec::new();
    while r.read_record(&mut rec).unwrap() {
        got.push((rec.id.clone(), rec.words.clone()));
    }
    let want: Vec<_> = sample()
        .into_iter()
        .map(|(i, w)| (i.to_string(), w))
        .collect();
    assert_eq!(got, want);

    let data = ClkReader::open(&path).unwrap().read_all().unwrap();
    assert_eq!(data.ids, ["a", "record-0002", "ü-id"]);
    assert_eq!(data.record(2), &[0x0123_4567_89ab_cdef, 42]);
}

#[test]
fn bytes_are_little_endian_at_fixed_offsets() {
    let dir = tempfile::tempdir().unwrap();
    let (path, summary) = write(
        dir.path(),
        &[("ab", vec![0x0102_0304_0506_0708, 0])],
        params(128, 1),
    )
    .unwrap();
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(&bytes[..8], &MAGIC);
    assert_eq!(u16::from_le_bytes([bytes[8], bytes[9]]), FILE_VERSION);
    let start = summary.header.header_len();
    assert_eq!(start % 8, 0);
    assert_eq!(&bytes[start..start + 8], b"ab\0\0\0\0\0\0");
    assert_eq!(&bytes[start + 8..start + 16], &[8, 7, 6, 5, 4, 3, 2, 1]);
}

#[test]
fn empty_file_is_valid() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = write(dir.path(), &[], params(1024, 1)).unwrap();
    let data = ClkReader::open(&path).unwrap().read_all().unwrap();
    assert!(data.ids.is_empty());
}

#[test]
fn truncation_is_detected_before_reading() {
    let dir = tempfile::tempdir().unwrap();
    let (path, summary) = write(dir.path(), &sample(), params(128, 1)).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let in_records = summary.header.header_len() + 10;
    for cut in [bytes.len() - 1, bytes.len() - 40, in_records] {
        std::fs::write(&path, &bytes[..cut]).unwrap();
        let err = ClkReader::open(&path).unwrap_err();
        assert!(
            matches!(
                err,
                ClkError::Size {
                    kind: "truncated",
                    ..
                }
            ),
            "{cut}: {err}"
        );
    }
    std::fs::write(&path, &bytes[..50]).unwrap();
    assert!(matches!(
        ClkReader::open(&path).unwrap_err(),
        ClkError::Truncated { .. }
    ));
    let mut longer = bytes.clone();
    longer.push(0);
    std::fs::write(&path, &longer).unwrap();
    assert!(matches!(
        ClkReader::open(&path).unwrap_err(),
        ClkError::Size {
            kind: "too long",
            ..
        }
    ));
}

#[test]
fn tampering_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    let (path, summary) = write(dir.path(), &sample(), params(128, 1)).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    // A flipped filter bit: the checksum fails at the end of the stream.
    let mut bad = bytes.clone();
    bad[summary.header.header_len() + 20] ^= 1;
    std::fs::write(&path, &bad).unwrap();
    assert!(matches!(
        ClkReader::open(&path).unwrap().read_all().unwrap_err(),
        ClkError::Checksum { .. }
    ));
    // A changed key fingerprint: the checksum fails too.
    let mut bad = bytes.clone();
    bad[50] ^= 0xff;
    std::fs::write(&path, &bad).unwrap();
    assert!(matches!(
        ClkReader::open(&path).unwrap().read_all().unwrap_err(),
        ClkError::Checksum { .. }
    ));
    // An edited embedded schema no longer matches its fingerprint.
    let mut bad = bytes.clone();
    bad[FIXED_HEADER + 2] ^= 1;
    std::fs::write(&path, &bad).unwrap();
    assert!(matches!(
        ClkReader::open(&path).unwrap_err(),
        ClkError::Corrupt { .. }
    ));
    // Another format version.
    let mut bad = bytes.clone();
    bad[8] = 9;
    std::fs::write(&path, &bad).unwrap();
    assert!(matches!(
        ClkReader::open(&path).unwrap_err(),
        ClkError::UnsupportedVersion { version: 9, .. }
    ));
    // Not an encoding file at all.
    std::fs::write(&path, vec![b'x'; 500]).unwrap();
    assert!(matches!(
        ClkReader::open(&path).unwrap_err(),
        ClkError::NotClk { .. }
    ));
}

#[test]
fn duplicate_ids_are_refused_with_both_rows() {
    let dir = tempfile::tempdir().unwrap();
    let mut records = sample();
    records.push(("record-0002", vec![0, 0]));
    let err = write(dir.path(), &records, params(128, 1)).unwrap_err();
    match err {
        ClkError::DuplicateId { id, first_row, row } => {
            assert_eq!((id.as_str(), first_row, row), ("record-0002", 2, 4));
        }
        other => panic!("{other:?}"),
    }
    // Nothing was left behind.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn many_distinct_ids_pass_the_membership_filter() {
    // More ids than the first membership filter holds, so a second one is added.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("many.clk");
    let mut w = ClkWriter::create(&path, params(64, 1)).unwrap();
    let n = SEEN_START as u64 + 1000;
    for i in 0..n {
        w.write_record(i + 1, &format!("id{i}"), &[i], &[]).unwrap();
    }
    let (file, summary) = w.finish().unwrap();
    file.commit().unwrap();
    assert_eq!(summary.header.record_count, n);
    let data = ClkReader::open(&path).unwrap().read_all().unwrap();
    assert_eq!(data.ids[66_000], "id66000");
    assert_eq!(data.record(66_000), &[66_000]);
}

#[test]
fn block_ids_round_trip_in_a_version_2_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("b.clk");
    let mut p = params(64, 1);
    p.block_keys = 2;
    p.schema_json = schema_json(64, 1, 2);
    p.schema_fingerprint = SchemaFingerprint(Sha256::digest(&p.schema_json).into());
    let mut w = ClkWriter::create(&path, p).unwrap();
    w.write_record(1, "x", &[5], &[11, 0]).unwrap();
    w.write_record(2, "y", &[6], &[12, 13]).unwrap();
    let (file, summary) = w.finish().unwrap();
    file.commit().unwrap();
    assert_eq!(summary.header.version, FILE_VERSION_BLOCKS);
    let data = ClkReader::open(&path).unwrap().read_all().unwrap();
    assert_eq!(data.header.block_keys, 2);
    assert_eq!(data.words, vec![5, 6]);
    assert_eq!(data.blocks, vec![11, 0, 12, 13]);
    // A version 1 header that claims block ids is refused.
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[8] = 1;
    std::fs::write(&path, &bytes).unwrap();
    let err = ClkReader::open(&path).unwrap_err();
    assert_eq!(err.kind(), ClkErrorKind::Corrupt, "{err}");
}

#[test]
fn missing_field_masks_round_trip_in_a_version_3_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.clk");
    let mut p = params(64, 2);
    p.missing_masks = true;
    p.block_keys = 1;
    p.schema_json = schema_json(64, 2, 1);
    p.schema_fingerprint = SchemaFingerprint(Sha256::digest(&p.schema_json).into());
    let mut w = ClkWriter::create(&path, p).unwrap();
    // Trailer: the mask, then the block id.
    w.write_record(1, "x", &[5, 0], &[0b10, 11]).unwrap();
    w.write_record(2, "y", &[6, 7], &[0, 12]).unwrap();
    let (file, summary) = w.finish().unwrap();
    file.commit().unwrap();
    assert_eq!(summary.header.version, super::FILE_VERSION_FLAGS);
    let data = ClkReader::open(&path).unwrap().read_all().unwrap();
    assert!(data.header.missing_masks);
    assert_eq!(data.words, vec![5, 0, 6, 7]);
    assert_eq!(data.missing, vec![0b10, 0]);
    assert_eq!(data.blocks, vec![11, 12]);
    assert_eq!(data.trailer(0), vec![0b10, 11]);
    // Flags a version 2 header cannot have, or flags no build knows, are refused.
    let bytes = std::fs::read(&path).unwrap();
    for (offset, value) in [(8, 2u8), (10, 3u8)] {
        let mut bad = bytes.clone();
        bad[offset] = value;
        std::fs::write(&path, &bad).unwrap();
        let err = ClkReader::open(&path).unwrap_err();
        assert_eq!(err.kind(), ClkErrorKind::Corrupt, "{err}");
    }
}

#[test]
fn any_reader_reads_what_a_file_holds_and_catches_damage() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = write(dir.path(), &sample(), params(128, 1)).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let from_file = ClkReader::open(&path).unwrap().read_all().unwrap();
    let from_bytes = ClkReader::from_reader(&bytes[..], "bytes")
        .unwrap()
        .read_all()
        .unwrap();
    assert_eq!(from_bytes.ids, from_file.ids);
    assert_eq!(from_bytes.words, from_file.words);
    assert_eq!(from_bytes.header, from_file.header);
    let kind = |b: &[u8]| {
        ClkReader::from_reader(b, "bytes")
            .and_then(|r| r.read_all())
            .unwrap_err()
            .kind()
    };
    assert_eq!(kind(&bytes[..bytes.len() - 5]), ClkErrorKind::Truncated);
    assert_eq!(kind(&[&bytes[..], b"x"].concat()), ClkErrorKind::Trailing);
    let mut tampered = bytes.clone();
    let last = tampered.len() - 40;
    tampered[last] ^= 1;
    assert_eq!(kind(&tampered), ClkErrorKind::Checksum);
    assert_eq!(kind(b"a_id,b_id\n"), ClkErrorKind::NotClk);
}

#[test]
fn any_writer_gets_the_bytes_of_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let (path, summary) = write(dir.path(), &sample(), params(128, 1)).unwrap();
    let mut w = ClkWriter::new("memory", params(128, 1)).unwrap();
    for (i, (id, words)) in sample().iter().enumerate() {
        w.write_record(i as u64 + 1, id, words, &[]).unwrap();
    }
    let (bytes, s) = w.finish_to(Vec::new()).unwrap();
    assert_eq!(bytes, std::fs::read(&path).unwrap());
    assert_eq!(s.file_sha256, summary.file_sha256);
}

/// A header's fixed fields edited and the trailer recomputed: only the embedded schema can tell.
#[test]
fn a_schema_that_contradicts_the_header_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = write(dir.path(), &sample(), params(128, 1)).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let resealed = |edit: &dyn Fn(&mut Vec<u8>)| {
        let mut b = bytes[..bytes.len() - 32].to_vec();
        edit(&mut b);
        let digest = Sha256::digest(&b);
        b.extend_from_slice(&digest);
        ClkReader::from_reader(&b[..], "edited.clk")
            .and_then(|r| r.read_all())
            .unwrap_err()
    };
    // Layout code 2 (rbf) while the schema says clk.
    let e = resealed(&|b| b[86] = 2);
    assert_eq!(e.kind(), ClkErrorKind::Schema, "{e}");
    assert!(
        e.to_string()
            .starts_with("edited.clk: the embedded schema gives layout clk")
    );
    // Hashing blake3 while the schema says hmac-sha256.
    assert_eq!(resealed(&|b| b[87] = 1).kind(), ClkErrorKind::Schema);
    // A schema that is not JSON, with a fingerprint to match it.
    let start = FIXED_HEADER;
    let e = resealed(&|b| {
        b[start] = b'#';
        let json_len = u32::from_le_bytes(b[104..108].try_into().unwrap()) as usize;
        let fp = Sha256::digest(&b[start..start + json_len]);
        b[16..48].copy_from_slice(&fp);
    });
    assert_eq!(e.kind(), ClkErrorKind::Schema, "{e}");
    assert!(e.to_string().contains("is not valid JSON"), "{e}");
}

#[test]
fn a_file_cut_inside_its_header_is_truncated() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = write(dir.path(), &sample(), params(128, 1)).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    for cut in [20, FIXED_HEADER + 3] {
        std::fs::write(&path, &bytes[..cut]).unwrap();
        let e = ClkReader::open(&path).unwrap_err();
        assert_eq!(e.kind(), ClkErrorKind::Truncated, "{cut}: {e}");
        assert!(!e.to_string().contains("fill whole buffer"), "{e}");
        let e = ClkReader::from_reader(&bytes[..cut], "cut").unwrap_err();
        assert_eq!(e.kind(), ClkErrorKind::Truncated, "{cut}: {e}");
    }
    let e = ClkReader::from_reader(&bytes[..5], "cut").unwrap_err();
    assert_eq!(e.kind(), ClkErrorKind::NotClk, "{e}");
}

/// A hardened schema's header records the stored (hardened) filter length: the schema's
/// `length_bits` doubled by `balance`, halved by `xor-fold`; the built length is refused.
#[test]
fn a_hardened_schema_gives_its_stored_length() {
    for (harden, stored) in [("\"balance\"", 256u32), ("\"xor-fold\"", 64)] {
        let toml = format!(
            "version = 1\nid_column = \"id\"\n[filter]\nlength_bits = 128\nharden = [{harden}]\n\
             [[fields]]\nname = \"f\"\ntokenizer = {{ kind = \"qgram\", q = 2 }}\nbits_per_token = 5\n"
        );
        let schema = crate::schema::Schema::from_toml_str(&toml).unwrap();
        assert_eq!(schema.filter.output_bits(), stored);
        let p = |filter_bits: u32| ClkParams {
            schema_fingerprint: schema.fingerprint(),
            key_fingerprint: KeyFingerprint([7; 32]),
            layout: Layout::Clk,
            hashing: HashingScheme::HmacSha256,
            filter_bits,
            filters_per_record: 1,
            block_keys: 0,
            missing_masks: false,
            schema_json: schema.canonical_json(),
        };
        let words = vec![0x0f0f_u64; stored as usize / 64];
        let dir = tempfile::tempdir().unwrap();
        let (path, _) = write(dir.path(), &[("a", words)], p(stored)).unwrap();
        let data = ClkReader::open(&path).unwrap().read_all().unwrap();
        assert_eq!(data.header.filter_bits, stored);
        let json = String::from_utf8(data.header.schema_json.clone()).unwrap();
        assert!(json.contains("\"harden\":["), "{json}");

        let dir = tempfile::tempdir().unwrap();
        let (path, _) = write(dir.path(), &[("a", vec![1, 2])], p(128)).unwrap();
        let e = ClkReader::open(&path)
            .and_then(|r| r.read_all())
            .unwrap_err();
        assert_eq!(e.kind(), ClkErrorKind::Schema, "{e}");
    }
}
