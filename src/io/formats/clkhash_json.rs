//! clkhash's output file, `{"clks": ["<base64>", ...]}`, and its bit order.
//!
//! clkhash keeps a CLK in a big-endian `bitarray`: bit `i` is bit `7 - i % 8` (counting from
//! the least significant) of byte `i / 8`, and `tobytes()` pads the last byte with zero bits.
//! The bytes are base64-encoded (standard alphabet, padded), one string per input row in input
//! order. In pprl bit `i` is bit `i % 64` of word `i / 64`; [`words_to_bytes`] and
//! [`bytes_to_words`] convert between the two, so clkhash's bit `i` is pprl's bit `i` (this
//! matters for folding and for tools that look at bit positions; similarity does not care).
//!
//! The JSON is written one CLK per line, streaming, and read back with a streaming parser that
//! decodes each string as it goes, so neither side holds the text of the whole file.

use std::io::{self, Write};
use std::path::Path;

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::{Encodings, ReadError};
use crate::io::AtomicFile;

/// clkhash's base64 (Python's `base64.b64encode`); reading also accepts missing padding.
const B64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Appends the `ceil(bits / 8)` bytes of clkhash's serialisation of a filter.
pub fn words_to_bytes(words: &[u64], bits: u32, out: &mut Vec<u8>) {
    let n = (bits as usize).div_ceil(8);
    let start = out.len();
    // Reversing a word's 64 bits reverses its bytes and the bits in each byte; reading it
    // big-endian puts the bytes back in order: byte j becomes reverse_bits(byte j).
    for w in &words[..n.div_ceil(8)] {
        out.extend_from_slice(&w.reverse_bits().to_be_bytes());
    }
    out.truncate(start + n);
}

/// Reads clkhash's bytes into words (`words` must hold `ceil(bytes * 8 / 64)` words).
pub fn bytes_to_words(bytes: &[u8], words: &mut [u64]) {
    words.fill(0);
    for (j, &b) in bytes.iter().enumerate() {
        words[j / 8] |= u64::from(b.reverse_bits()) << (8 * (j % 8));
    }
}

/// Writes clkhash JSON to any writer, one CLK at a time; [`JsonWriter::create`] writes a file
/// atomically.
#[derive(Debug)]
pub struct JsonWriter<W: Write = AtomicFile> {
    file: W,
    bits: u32,
    count: u64,
    bytes: Vec<u8>,
    text: String,
}

impl JsonWriter {
    /// Starts a file of CLKs of `bits` bits (it appears on [`JsonWriter::finish`] + commit).
    pub fn create(path: impl AsRef<Path>, bits: u32) -> io::Result<JsonWriter> {
        JsonWriter::new(AtomicFile::create(path)?, bits)
    }
}

impl<W: Write> JsonWriter<W> {
    /// Starts CLKs of `bits` bits on `w` (writes the opening of the JSON now).
    pub fn new(mut w: W, bits: u32) -> io::Result<JsonWriter<W>> {
        w.write_all(b"{\"clks\": [")?;
        Ok(JsonWriter {
            file: w,
            bits,
            count: 0,
            bytes: Vec::new(),
            text: String::new(),
        })
    }

    /// Appends one CLK.
    pub fn write(&mut self, words: &[u64]) -> io::Result<()> {
        self.bytes.clear();
        words_to_bytes(words, self.bits, &mut self.bytes);
        self.text.clear();
        self.text
            .push_str(if self.count == 0 { "\n\"" } else { ",\n\"" });
        B64.encode_string(&self.bytes, &mut self.text);
        self.text.push('"');
        self.file.write_all(self.text.as_bytes())?;
        self.count += 1;
        Ok(())
    }

    /// CLKs written.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Closes the JSON and hands back the writer (for a file: to commit).
    pub fn finish(mut self) -> io::Result<W> {
        self.file.write_all(b"\n]}\n")?;
        self.file.flush()?;
        Ok(self.file)
    }
}

/// Reads a clkhash JSON file (`{"clks": [...]}`; other top-level keys are ignored).
pub fn read(path: &Path) -> Result<Encodings, ReadError> {
    let (file, shown) = super::open(path)?;
    from_reader(io::BufReader::with_capacity(1 << 20, file), &shown)
}

/// Reads clkhash JSON from any reader (buffer it); `label` names the input in messages.
pub fn from_reader(reader: impl io::Read, label: &str) -> Result<Encodings, ReadError> {
    let shown = label.to_string();
    let mut de = serde_json::Deserializer::from_reader(reader);
    let mut enc = Encodings::default();
    let found = de::Deserializer::deserialize_map(&mut de, TopLevel { out: &mut enc })
        .and_then(|found| de.end().map(|()| found))
        .map_err(|e| ReadError::Invalid {
            path: shown.clone(),
            detail: describe(&e),
        })?;
    if !found {
        return Err(ReadError::Invalid {
            path: shown,
            detail: "no `clks` array (expected clkhash's {\"clks\": [...]})".into(),
        });
    }
    Ok(enc)
}

/// A JSON error in words that never quote the file: serde's own messages for a value of the
/// wrong type quote the value (`invalid type: string "..."`), which is file content. The
/// messages this reader raises itself (`CLK 3: ...`) name positions and sizes only.
fn describe(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let (line, column) = (e.line(), e.column());
    match e.classify() {
        Category::Eof => format!("the JSON ends early (EOF at line {line}, column {column})"),
        Category::Syntax => format!("not valid JSON (line {line}, column {column})"),
        Category::Io => format!("read failed at line {line}: {e}"),
        Category::Data => {
            let text = e.to_string();
            if text.starts_with("CLK ") {
                text
            } else {
                format!(
                    "line {line}, column {column}: not clkhash JSON there (expected an object \
                     with a `clks` array of base64 strings)"
                )
            }
        }
    }
}

struct TopLevel<'a> {
    out: &'a mut Encodings,
}

impl<'de> Visitor<'de> for TopLevel<'_> {
    type Value = bool;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON object with a `clks` array")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
        let mut found = false;
        while let Some(key) = map.next_key::<String>()? {
            if key == "clks" && !found {
                map.next_value_seed(Clks { out: self.out })?;
                found = true;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }
}

struct Clks<'a> {
    out: &'a mut Encodings,
}

impl<'de> DeserializeSeed<'de> for Clks<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Clks<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an array of base64 strings")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut bytes = Vec::new();
        while seq
            .next_element_seed(OneClk {
                out: self.out,
                bytes: &mut bytes,
            })?
            .is_some()
        {}
        Ok(())
    }
}

struct OneClk<'a> {
    out: &'a mut Encodings,
    bytes: &'a mut Vec<u8>,
}

impl<'de> DeserializeSeed<'de> for OneClk<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for OneClk<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a base64 string")
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<(), E> {
        let index = self.out.count;
        self.bytes.clear();
        B64.decode_vec(s, self.bytes)
            .map_err(|e| E::custom(format!("CLK {index} is not valid base64: {e}")))?;
        self.out
            .push_bytes(self.bytes)
            .map_err(|m| E::custom(format!("CLK {index}: {m}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bit_order_is_clkhash_big_endian_bitarray() {
        let mut words = [0u64; 2];
        words[0] = 1; // bit 0
        words[1] = 1 << 3; // bit 67
        let mut bytes = Vec::new();
        words_to_bytes(&words, 72, &mut bytes);
        assert_eq!(bytes.len(), 9);
        assert_eq!(
            bytes[0], 0x80,
            "bit 0 is the first byte's most significant bit"
        );
        assert_eq!(bytes[8], 0x10, "bit 67 = bit 3 of byte 8, from the top");
        let mut back = [0u64; 2];
        bytes_to_words(&bytes, &mut back);
        assert_eq!(back, words);
    }

    #[test]
    fn write_then_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("clks.json");
        let mut w = JsonWriter::create(&path, 128).unwrap();
        w.write(&[u64::MAX, 0]).unwrap();
        w.write(&[5, 1 << 63]).unwrap();
        w.finish().unwrap().commit().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["clks"][0], "//////////8AAAAAAAAAAA==");
        let enc = read(&path).unwrap();
        assert_eq!((enc.count, enc.bits), (2, 128));
        assert_eq!(enc.words, [u64::MAX, 0, 5, 1 << 63]);
    }

    #[test]
    fn overlong_clks_are_refused_for_their_length() {
        // 80,000,000 bits is a multiple of 64; it is refused for being over the maximum.
        let clk = B64.encode(vec![0u8; 10_000_000]);
        let text = format!("{{\"clks\": [\"{clk}\"]}}");
        let err = from_reader(text.as_bytes(), "big.json")
            .unwrap_err()
            .to_string();
        assert!(err.contains("80000000 bits, over the longest"), "{err}");
        assert!(!err.contains("multiple of 64"), "{err}");
    }

    #[test]
    fn bad_files_name_the_problem() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.json");
        for (text, needle) in [
            (r#"{"clks": ["AAAA", "AA=="]}"#, "CLK 1"),
            (r#"{"clks": ["not base64!"]}"#, "CLK 0 is not valid base64"),
            (r#"{"other": []}"#, "no `clks`"),
            (r#"{"clks": ["AAAA"]"#, "EOF"),
            (r#"[1, 2]"#, "object"),
            (r#"{"clks": "SECRET"}"#, "line 1, column 17"),
            (r#"{"clks": [7]}"#, "base64 strings"),
        ] {
            std::fs::write(&path, text).unwrap();
            let err = read(&path).unwrap_err().to_string();
            assert!(err.contains(needle), "{text}: {err}");
            assert!(!err.contains("SECRET"), "{text}: {err}");
        }
    }
}
