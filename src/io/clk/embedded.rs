//! The schema embedded in a `.clk` header, checked against the header's own fields.
//!
//! The checksum trailer proves only that the bytes are those its writer hashed: a file whose
//! trailer was recomputed after an edit passes it. So the reader also parses the embedded
//! schema (pprl's canonical JSON, or clkhash's tagged `{"clkhash_v3": ...}`) and refuses a
//! header whose filter length, filters per record, layout, hashing or block keys the schema
//! contradicts. In: the header just read; out: nothing, or [`ClkError::Schema`] naming the file
//! and the disagreeing field (never the schema's text).

use serde_json::Value;

use super::{ClkError, ClkHeader};
use serde::Deserialize as _;

use crate::schema::{FilterSpec, HashingScheme, Layout};

/// Checks `header.schema_json` against the header's fields.
pub(super) fn check(header: &ClkHeader, path: &str) -> Result<(), ClkError> {
    let bad = |detail: String| ClkError::Schema {
        path: path.to_string(),
        detail,
    };
    let value: Value =
        serde_json::from_slice(&header.schema_json).map_err(|_| bad("is not valid JSON".into()))?;
    let Some(object) = value.as_object() else {
        return Err(bad("is not a JSON object".into()));
    };
    if let Some(clkhash) = object.get("clkhash_v3") {
        return check_clkhash(header, clkhash).map_err(bad);
    }
    // The canonical form leaves out local input settings (the id column, date input
    // formats), so it is read back section by section: the filter, and the counts of fields
    // and blocking keys.
    let filter: FilterSpec = object
        .get("filter")
        .and_then(|f| FilterSpec::deserialize(f).ok())
        .ok_or_else(|| bad("is not a pprl schema (no valid `filter` section)".into()))?;
    let fields = match object.get("fields").and_then(Value::as_array) {
        Some(f) if !f.is_empty() => f.len(),
        _ => return Err(bad("is not a pprl schema (no `fields`)".into())),
    };
    let blocking = match object.get("blocking") {
        None => 0,
        Some(Value::Array(keys)) => keys.len(),
        Some(_) => return Err(bad("is not a pprl schema (`blocking` is not a list)".into())),
    };
    let filters = match filter.layout {
        Layout::Field => fields,
        Layout::Clk | Layout::Rbf => 1,
    };
    let expect = |what: &str, schema: String, header: String| {
        if schema == header {
            Ok(())
        } else {
            Err(bad(format!(
                "gives {what} {schema}, but the header says {header}"
            )))
        }
    };
    expect(
        "hashing",
        filter.hashing.as_str().into(),
        header.hashing.as_str().into(),
    )?;
    expect(
        "layout",
        filter.layout.as_str().into(),
        header.layout.as_str().into(),
    )?;
    expect(
        "a filter length of",
        format!("{} bits", filter.output_bits()),
        format!("{} bits", header.filter_bits),
    )?;
    expect(
        "filters per record:",
        filters.to_string(),
        header.filters_per_record.to_string(),
    )?;
    expect(
        "blocking keys:",
        blocking.to_string(),
        header.block_keys.to_string(),
    )
}

/// A clkhash schema's canonical form: one CLK of `l` bits per record, no block keys.
fn check_clkhash(header: &ClkHeader, v: &Value) -> Result<(), String> {
    if header.hashing != HashingScheme::Clkhash {
        return Err(format!(
            "is a clkhash schema, but the header says hashing {}",
            header.hashing.as_str()
        ));
    }
    let l = v
        .get("l")
        .and_then(Value::as_u64)
        .ok_or("is a clkhash schema without a CLK length `l`")?;
    if !v.get("features").is_some_and(Value::is_array) {
        return Err("is a clkhash schema without features".into());
    }
    if l != u64::from(header.filter_bits) {
        return Err(format!(
            "gives a CLK length of {l} bits, but the header says {} bits",
            header.filter_bits
        ));
    }
    if header.layout != Layout::Clk || header.filters_per_record != 1 || header.block_keys != 0 {
        return Err(format!(
            "is a clkhash schema (one CLK per record), but the header says layout {}, {} \
             filters per record and {} blocking keys",
            header.layout.as_str(),
            header.filters_per_record,
            header.block_keys
        ));
    }
    Ok(())
}
