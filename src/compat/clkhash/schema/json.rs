//! Reading JSON the way clkhash's master JSON schemas check it: typed access to an object with
//! its key path for messages ([`Obj`]), JSON Schema's integers, and the `oneOf` between a hashed
//! and an ignored feature. Shared by [`upgrade`](super::upgrade) and [`parse`](super::parse).

use serde_json::{Map, Value};

use super::{SchemaError, invalid, unsupported};

/// A JSON integer as JSON Schema counts them (an integral float is one; a boolean is not).
pub(super) fn integral(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 9.2e18)
                .map(|f| f as i64)
        }),
        _ => None,
    }
}

/// An object being validated, with its path for messages.
pub(super) struct Obj<'a> {
    pub(super) map: &'a Map<String, Value>,
    pub(super) at: String,
}

impl<'a> Obj<'a> {
    pub(super) fn new(v: &'a Value, at: impl Into<String>) -> Result<Obj<'a>, SchemaError> {
        let at = at.into();
        match v {
            Value::Object(map) => Ok(Obj { map, at }),
            other => Err(invalid(
                at,
                format!("expected an object, found {}", kind(other)),
            )),
        }
    }

    pub(super) fn path(&self, key: &str) -> String {
        if self.at == "the top level" {
            key.to_string()
        } else {
            format!("{}.{key}", self.at)
        }
    }

    pub(super) fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key)
    }

    pub(super) fn req(&self, key: &str) -> Result<&'a Value, SchemaError> {
        self.get(key)
            .ok_or_else(|| invalid(self.at.clone(), format!("the key `{key}` is required")))
    }

    pub(super) fn obj(&self, key: &str) -> Result<Obj<'a>, SchemaError> {
        Obj::new(self.req(key)?, self.path(key))
    }

    /// An optional integer of at least `min`.
    pub(super) fn int(&self, key: &str, min: i64) -> Result<Option<i64>, SchemaError> {
        let Some(v) = self.get(key) else {
            return Ok(None);
        };
        match integral(v) {
            Some(n) if n >= min => Ok(Some(n)),
            Some(n) => Err(invalid(self.path(key), format!("{n} is less than {min}"))),
            None if v.is_number() => Err(unsupported(
                self.path(key),
                format!("{v} is not an integer that fits 64 bits"),
            )),
            None => Err(invalid(
                self.path(key),
                format!("expected an integer, found {}", kind(v)),
            )),
        }
    }

    pub(super) fn req_int(&self, key: &str, min: i64) -> Result<i64, SchemaError> {
        self.req(key)?;
        Ok(self.int(key, min)?.unwrap_or(min))
    }

    pub(super) fn string(&self, key: &str) -> Result<Option<&'a str>, SchemaError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(v) => Err(invalid(
                self.path(key),
                format!("expected a string, found {}", kind(v)),
            )),
        }
    }

    pub(super) fn req_string(&self, key: &str) -> Result<&'a str, SchemaError> {
        self.req(key)?;
        Ok(self.string(key)?.unwrap_or_default())
    }

    pub(super) fn boolean(&self, key: &str) -> Result<Option<bool>, SchemaError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(v) => Err(invalid(
                self.path(key),
                format!("expected true or false, found {}", kind(v)),
            )),
        }
    }

    /// `additionalProperties: false`.
    pub(super) fn only(&self, keys: &[&str]) -> Result<(), SchemaError> {
        match self.map.keys().find(|k| !keys.contains(&k.as_str())) {
            Some(extra) => Err(invalid(
                self.at.clone(),
                format!(
                    "the key `{extra}` is not allowed here (allowed: {})",
                    keys.join(", ")
                ),
            )),
            None => Ok(()),
        }
    }

    /// One of `allowed` string constants.
    pub(super) fn one_of(
        &self,
        key: &str,
        allowed: &[&str],
    ) -> Result<Option<&'a str>, SchemaError> {
        match self.string(key)? {
            Some(s) if !allowed.contains(&s) => Err(invalid(
                self.path(key),
                format!("`{s}` is not one of {}", allowed.join(", ")),
            )),
            other => Ok(other),
        }
    }
}

pub(super) fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

pub(super) fn features<'a>(top: &Obj<'a>) -> Result<&'a Vec<Value>, SchemaError> {
    match top.req("features")? {
        Value::Array(items) => Ok(items),
        other => Err(invalid(
            "features",
            format!("expected an array, found {}", kind(other)),
        )),
    }
}

pub(super) fn feature_at(i: usize, item: &Value) -> String {
    match item.get("identifier").and_then(Value::as_str) {
        Some(id) => format!("features[{i}] ({id})"),
        None => format!("features[{i}]"),
    }
}

/// Is `item` a valid ignored feature? In v3 it may hold nothing else; in v1 and v2 it may.
pub(super) fn is_ignore_feature(item: &Value, version: u32) -> bool {
    let Some(map) = item.as_object() else {
        return false;
    };
    let only_known = map
        .keys()
        .all(|k| ["identifier", "ignored", "description"].contains(&k.as_str()));
    map.get("identifier").is_some_and(Value::is_string)
        && map.get("ignored") == Some(&Value::Bool(true))
        && map.get("description").is_none_or(Value::is_string)
        && (version < 3 || only_known)
}

/// JSON Schema's `oneOf: [featureConfig, ignoreFeature]` for one feature: `hashed` checks the
/// featureConfig branch. Returns whether the feature is ignored.
pub(super) fn one_of_feature(
    i: usize,
    item: &Value,
    version: u32,
    hashed: impl FnOnce() -> Result<(), SchemaError>,
) -> Result<bool, SchemaError> {
    let ignore = is_ignore_feature(item, version);
    match (hashed(), ignore) {
        (Ok(()), true) => Err(invalid(
            feature_at(i, item),
            "the feature is both a hashed and an ignored feature (remove `ignored` or \
             `format`/`hashing`)",
        )),
        (Ok(()), false) => Ok(item.get("ignored") == Some(&Value::Bool(true))),
        (Err(_), true) => Ok(true),
        (Err(e), false) => Err(e),
    }
}
