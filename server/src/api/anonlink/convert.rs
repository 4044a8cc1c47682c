//! anonlink-entity-service upload bodies to clkhash JSON, in one streaming pass.
//!
//! What flows in: the body of `POST .../clks`, one of `{"clks": [b64, ...]}`,
//! `{"clknblocks": [[b64, block id, ...], ...]}` or `{"encodings": [b64, ...], "blocks":
//! {...}}`; what flows out: a clkhash JSON file `{"clks": [...]}` that the library reads, and
//! counts. Block ids are counted, not kept: pprl's key blocking is positional (one id per key
//! per record) while that service's blocks are sets, so a compatible run compares every pair
//! (bounded by `max_comparisons`), a superset of the pairs that the blocks would select.
//! Encodings in an external object store (`{"file": ...}`) are refused. Messages name
//! positions, never content.

use std::fmt;
use std::io::Write;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// What a converted body held.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Converted {
    /// Encodings written.
    pub records: u64,
    /// Encodings that came with at least one block id.
    pub with_blocks: u64,
    /// Block ids seen (in `clknblocks` rows or a `blocks` map).
    pub block_ids: u64,
}

struct Sink<'a> {
    out: &'a mut dyn Write,
    done: Converted,
}

impl Sink<'_> {
    fn push<E: de::Error>(&mut self, b64: &str) -> Result<(), E> {
        let sep: &[u8] = if self.done.records == 0 {
            b"\n"
        } else {
            b",\n"
        };
        self.out
            .write_all(sep)
            .and_then(|()| serde_json::to_writer(&mut *self.out, b64).map_err(Into::into))
            .map_err(|e| E::custom(format!("writing failed: {e}")))?;
        self.done.records += 1;
        Ok(())
    }
}

/// The longest JSON string (in bytes, escapes counted as written) a body may hold: an
/// encoding of the longest filter pprl reads (65,536 bits) is 10,924 base64 characters.
pub const MAX_STRING_BYTES: u64 = 16 * 1024;

/// Checks, in one pass and constant memory, that no string in the JSON text is longer than
/// `max` bytes. The JSON parser buffers each string whole before handing it over, so without
/// this one huge string in an upload would be held in memory.
pub fn strings_bounded(input: impl std::io::Read, max: u64) -> Result<(), String> {
    let mut r = std::io::BufReader::with_capacity(1 << 16, input);
    let (mut inside, mut escaped, mut len, mut at) = (false, false, 0u64, 0u64);
    loop {
        let buf = std::io::BufRead::fill_buf(&mut r).map_err(|e| format!("reading failed: {e}"))?;
        if buf.is_empty() {
            return Ok(());
        }
        for &b in buf {
            at += 1;
            if !inside {
                if b == b'"' {
                    inside = true;
                    len = 0;
                }
                continue;
            }
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                inside = false;
                continue;
            }
            len += 1;
            if len > max {
                return Err(format!(
                    "a string longer than {max} bytes (at byte {at}): no encoding is that long"
                ));
            }
        }
        let n = buf.len();
        std::io::BufRead::consume(&mut r, n);
    }
}

/// Converts `input` (JSON) into clkhash JSON on `out`.
pub fn convert(input: impl std::io::Read, out: &mut dyn Write) -> Result<Converted, String> {
    out.write_all(b"{\"clks\": [")
        .map_err(|e| format!("writing failed: {e}"))?;
    let mut sink = Sink {
        out,
        done: Converted::default(),
    };
    let mut de = serde_json::Deserializer::from_reader(std::io::BufReader::new(input));
    let found = de::Deserializer::deserialize_map(&mut de, Top { sink: &mut sink })
        .and_then(|f| de.end().map(|()| f))
        .map_err(|e| describe(&e))?;
    if !found {
        return Err(
            "the body has none of `clks`, `clknblocks` or `encodings` (anonlink's upload JSON)"
                .into(),
        );
    }
    let done = sink.done;
    if done.records == 0 {
        return Err("the upload holds no encodings".into());
    }
    sink.out
        .write_all(b"\n]}\n")
        .map_err(|e| format!("writing failed: {e}"))?;
    Ok(done)
}

fn describe(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    match e.classify() {
        Category::Data => {
            // serde's own words before `expected` may quote the value: keep only what this
            // reader wrote (after `upload:`), which names positions.
            let t = e.to_string();
            if let Some(i) = t.find("upload:") {
                t[i + "upload:".len()..].trim().to_string()
            } else {
                format!(
                    "line {}, column {}: not anonlink upload JSON there",
                    e.line(),
                    e.column()
                )
            }
        }
        _ => format!("not valid JSON (line {}, column {})", e.line(), e.column()),
    }
}

struct Top<'s, 'a> {
    sink: &'s mut Sink<'a>,
}

impl<'de> Visitor<'de> for Top<'_, '_> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
        let mut found = false;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "clks" | "clknblocks" | "encodings" => {
                    if found {
                        return Err(de::Error::custom(
                            "upload: give one of `clks`, `clknblocks` and `encodings`",
                        ));
                    }
                    found = true;
                    let rows = key == "clknblocks";
                    map.next_value_seed(Rows {
                        sink: self.sink,
                        rows,
                    })?;
                }
                "blocks" => {
                    self.sink.done.block_ids += map.next_value_seed(BlockMap)?;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(found)
    }
}

/// The array of encodings (`rows`: each a `[b64, block ids...]` array).
struct Rows<'s, 'a> {
    sink: &'s mut Sink<'a>,
    rows: bool,
}

impl<'de> DeserializeSeed<'de> for Rows<'_, '_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Rows<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of encodings")
    }

    fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        Err(de::Error::custom(
            "upload: encodings in an external object store are not supported; send them in the \
             request body",
        ))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let rows = self.rows;
        loop {
            let at = self.sink.done.records;
            let more = if rows {
                seq.next_element_seed(Row {
                    sink: &mut *self.sink,
                    at,
                })?
            } else {
                seq.next_element_seed(One {
                    sink: &mut *self.sink,
                    at,
                })?
            };
            if more.is_none() {
                return Ok(());
            }
        }
    }
}

/// One base64 encoding.
struct One<'s, 'a> {
    sink: &'s mut Sink<'a>,
    at: u64,
}

impl<'de> DeserializeSeed<'de> for One<'_, '_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for One<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "upload: encoding {} to be a base64 string", self.at)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        self.sink.push(v)
    }
}

/// One `[b64, block id, ...]` row.
struct Row<'s, 'a> {
    sink: &'s mut Sink<'a>,
    at: u64,
}

impl<'de> DeserializeSeed<'de> for Row<'_, '_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Row<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "upload: row {} to be an array of a base64 encoding and block ids",
            self.at
        )
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let at = self.at;
        if seq
            .next_element_seed(One {
                sink: &mut *self.sink,
                at,
            })?
            .is_none()
        {
            return Err(de::Error::custom(format!("upload: row {at} is empty")));
        }
        let mut ids = 0u64;
        while seq.next_element::<IgnoredAny>()?.is_some() {
            ids += 1;
        }
        if ids > 0 {
            self.sink.done.with_blocks += 1;
        }
        self.sink.done.block_ids += ids;
        Ok(())
    }
}

/// A `blocks` map (encoding id -> block ids): counted.
struct BlockMap;

impl<'de> DeserializeSeed<'de> for BlockMap {
    type Value = u64;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<u64, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for BlockMap {
    type Value = u64;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("upload: `blocks` to map encoding ids to block ids")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<u64, A::Error> {
        let mut n = 0u64;
        while let Some((_, ids)) = map.next_entry::<IgnoredAny, Vec<IgnoredAny>>()? {
            n += ids.len() as u64;
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(body: &str) -> Result<(Converted, String), String> {
        let mut out = Vec::new();
        let c = convert(body.as_bytes(), &mut out)?;
        Ok((c, String::from_utf8(out).unwrap()))
    }

    #[test]
    fn the_three_shapes_become_clkhash_json() {
        let want = "{\"clks\": [\n\"AAAA\",\n\"//8=\"\n]}\n";
        let (c, out) = run(r#"{"clks": ["AAAA", "//8="], "other": 1}"#).unwrap();
        assert_eq!((c.records, c.block_ids), (2, 0));
        assert_eq!(out, want);
        let (c, out) = run(r#"{"clknblocks": [["AAAA", "1", "7"], ["//8="]]}"#).unwrap();
        assert_eq!((c.records, c.with_blocks, c.block_ids), (2, 1, 2));
        assert_eq!(out, want);
        let (c, out) =
            run(r#"{"encodings": ["AAAA", "//8="], "blocks": {"0": ["a"], "1": ["a", "b"]}}"#)
                .unwrap();
        assert_eq!((c.records, c.block_ids), (2, 3));
        assert_eq!(out, want);
    }

    #[test]
    fn overlong_strings_are_found_before_parsing() {
        let ok = format!(r#"{{"clks": ["{}", "a\"b"]}}"#, "A".repeat(100));
        assert!(strings_bounded(ok.as_bytes(), 100).is_ok());
        let long = format!(r#"{{"clks": ["{}"]}}"#, "A".repeat(101));
        let e = strings_bounded(long.as_bytes(), 100).unwrap_err();
        assert!(e.contains("longer than 100 bytes"), "{e}");
        // An escaped quote does not end the string.
        let tricky = format!(r#"{{"clks": ["\"{}"]}}"#, "A".repeat(100));
        assert!(strings_bounded(tricky.as_bytes(), 100).is_err());
    }

    #[test]
    fn bad_bodies_are_refused_without_quoting_them() {
        for (body, says) in [
            (r#"{"clks": ["AAAA", 5]}"#, "encoding 1"),
            (r#"{"clknblocks": [["AAAA"], []]}"#, "row 1 is empty"),
            (
                r#"{"encodings": {"file": {"bucket": "b", "path": "p"}}}"#,
                "object store",
            ),
            (r#"{"clks": [], "encodings": []}"#, "one of"),
            (r#"{"nothing": ["secret-value"]}"#, "none of"),
            (r#"{"clks": []}"#, "no encodings"),
            (r#"{"clks": ["AAAA""#, "not valid JSON"),
        ] {
            let e = run(body).unwrap_err();
            assert!(e.contains(says), "{body}: {e}");
            assert!(!e.contains("secret-value") && !e.contains("AAAA"), "{e}");
        }
    }
}
