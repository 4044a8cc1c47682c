//! clkhash's schema upgrades, step by step as `clkhash/schema.py` does them: a v1 document in,
//! a v2 document out ([`v1_to_v2`]), then v2 in, v3 out ([`v2_to_v3`]). Each step first checks
//! what the older master schema requires and what the step relies on; the v3 result is then
//! parsed and validated like any v3 schema.

use serde_json::{Map, Value};

use super::json::{Obj, feature_at, features, one_of_feature};
use super::{SchemaError, invalid};

/// clkhash's `_convert_v1_to_v2`, after the checks of the v1 master schema it relies on.
pub(super) fn v1_to_v2(value: &Value, warnings: &mut Vec<String>) -> Result<Value, SchemaError> {
    let top = Obj::new(value, "the top level")?;
    let config = top.obj("clkConfig")?;
    config.req("l")?;
    config.obj("kdf")?;
    let hash = config.obj("hash")?;
    let k = config.req_int("k", 1)?;
    if let Some(folds) = config.int("xorFolds", 0)?
        && folds != 0
    {
        warnings.push(format!(
            "clkConfig.xorFolds = {folds} is ignored, as clkhash 0.18 ignores it when it \
             upgrades a version 1 schema"
        ));
    }
    hash.one_of("type", &["doubleHash", "blakeHash"])?;
    let mut out = Vec::new();
    for (i, item) in features(&top)?.iter().enumerate() {
        let at = feature_at(i, item);
        let ignored = one_of_feature(i, item, 1, || {
            let f = Obj::new(item, at.clone())?;
            f.req_string("identifier")?;
            f.req("format")?;
            let h = f.obj("hashing")?;
            h.req_int("ngram", 0)?;
            weight(&h).map(|_| ())
        })?;
        if ignored {
            out.push(item.clone());
            continue;
        }
        let f = Obj::new(item, at.clone())?;
        let h = f.obj("hashing")?;
        let w = weight(&h)?;
        if w == 0.0 {
            out.push(serde_json::json!({
                "identifier": f.req_string("identifier")?,
                "ignored": true,
            }));
            continue;
        }
        let mut feature = item.clone();
        let hashing = feature["hashing"]
            .as_object_mut()
            .expect("checked to be an object");
        hashing.remove("weight");
        // Python: int(round(weight * k)), rounding halves to even.
        let bits = (w * k as f64).round_ties_even();
        hashing.insert("strategy".into(), serde_json::json!({ "k": bits as i64 }));
        hashing.insert("hash".into(), Value::Object(hash.map.clone()));
        out.push(feature);
    }
    let mut config_out = Map::new();
    config_out.insert("l".into(), config.req("l")?.clone());
    config_out.insert(
        "xor_folds".into(),
        config.get("xor_folds").cloned().unwrap_or(Value::from(0)),
    );
    config_out.insert("kdf".into(), config.req("kdf")?.clone());
    Ok(serde_json::json!({
        "version": 2,
        "clkConfig": config_out,
        "features": out,
    }))
}

/// A v1 feature's `weight` (number >= 0, default 1).
pub(super) fn weight(h: &Obj<'_>) -> Result<f64, SchemaError> {
    match h.get("weight") {
        None => Ok(1.0),
        Some(v) => match v.as_f64() {
            Some(w) if w >= 0.0 && w.is_finite() => Ok(w),
            _ => Err(invalid(
                h.path("weight"),
                format!("expected a number >= 0, found {v}"),
            )),
        },
    }
}

/// clkhash's `_convert_v2_to_v3`, after the checks of the v2 master schema it relies on.
pub(super) fn v2_to_v3(value: &Value) -> Result<Value, SchemaError> {
    let top = Obj::new(value, "the top level")?;
    top.obj("clkConfig")?;
    let mut out = Vec::new();
    for (i, item) in features(&top)?.iter().enumerate() {
        let at = feature_at(i, item);
        let ignored = one_of_feature(i, item, 2, || {
            let f = Obj::new(item, at.clone())?;
            f.req_string("identifier")?;
            f.req("format")?;
            let h = f.obj("hashing")?;
            h.only(&["hash", "strategy", "ngram", "positional", "missingValue"])?;
            h.req_int("ngram", 1)?;
            h.boolean("positional")?;
            let s = h.obj("strategy")?;
            match (s.get("k").is_some(), s.get("numBits").is_some()) {
                (true, false) | (false, true) => Ok(()),
                _ => Err(invalid(
                    s.at.clone(),
                    "expected exactly one of `k` and `numBits`",
                )),
            }
        })?;
        let mut feature = item.clone();
        if !ignored {
            let hashing = feature["hashing"]
                .as_object_mut()
                .expect("checked to be an object");
            let strategy = hashing["strategy"]
                .as_object_mut()
                .expect("checked to be an object");
            if let Some(k) = strategy.remove("k") {
                strategy.insert("bitsPerToken".into(), k);
            } else if let Some(n) = strategy.remove("numBits") {
                strategy.insert("bitsPerFeature".into(), n);
            }
            let n = hashing.remove("ngram").unwrap_or(Value::from(2));
            let positional = hashing.remove("positional").unwrap_or(Value::Bool(false));
            hashing.insert(
                "comparison".into(),
                serde_json::json!({"type": "ngram", "n": n, "positional": positional}),
            );
        }
        out.push(feature);
    }
    let mut v3 = value.clone();
    v3["version"] = Value::from(3);
    v3["features"] = Value::Array(out);
    Ok(v3)
}
