//! The recommended privacy profile, chosen by measurement (the privacy-utility sweep,
//! `pprl privacy sweep`; figures in `docs/privacy.md`), and a review of a schema against it.
//!
//! In: a [`Schema`] and, when an export was profiled, the number of distinct values of each
//! field. Out: [`ProfileFinding`]s, each a weak choice with a stable code (`W020`-`W023`), what
//! the measurements say about it, and the recommended setting. The schema's own warnings
//! already cover field-level layout (`W001`), short filters (`W002`) and fewer than three fields
//! in one filter (`W004`); these add what only the privacy measurements show, and
//! [`field_layout_note`] states what a field-layout schema trades (probabilistic linkage
//! against a per-field leak).
//!
//! The profile: a record-level CLK (`layout = "clk"`) of at least three identifying fields
//! in 1024 bits, names and addresses as q-grams, no exact tokens of fields with few distinct
//! values, and `harden = ["balance"]`. Why: on field-level filters of first names the frequency
//! attack re-identifies most records (91% at 10,000, `docs/attacks.md`); a CLK of several
//! fields makes almost every filter unique, which took every attack to 0 correct in the
//! sweep; balancing then removes the popcount (length) leak and costs no linkage quality and
//! about a tenth of the encoding rate (`docs/privacy.md`, "Encoding rate").

use serde::Serialize;

use crate::schema::{Layout, Schema, TokenizerSpec};

/// The recommended profile, as data (for reports and `pprl schema init`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RecommendedProfile {
    /// Filter layout.
    pub layout: &'static str,
    /// Least number of fields in the filter.
    pub min_fields: usize,
    /// Least filter length in bits.
    pub min_length_bits: u32,
    /// The `[filter] harden` steps.
    pub harden: &'static [&'static str],
    /// A field with exact tokens and at most this many distinct values is weak.
    pub max_exact_distinct: u64,
}

/// The profile new schemas get (`pprl schema init`, `examples/recommended.toml`).
pub const RECOMMENDED: RecommendedProfile = RecommendedProfile {
    layout: "clk",
    min_fields: 3,
    min_length_bits: 1024,
    harden: &["balance"],
    max_exact_distinct: 20,
};

/// One weak choice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProfileFinding {
    /// Stable code.
    pub code: &'static str,
    /// The field concerned, if one.
    pub field: Option<String>,
    /// What is weak and why, in plain language.
    pub message: String,
}

/// Reviews `schema` against [`RECOMMENDED`]. `distinct` gives a field's number of distinct
/// values where an export was profiled (`None` without data: exact-token fields are then
/// flagged with a conditional wording).
pub fn review(schema: &Schema, distinct: &dyn Fn(&str) -> Option<u64>) -> Vec<ProfileFinding> {
    let mut out = Vec::new();
    if schema.filter.harden.is_empty() {
        out.push(ProfileFinding {
            code: "W020",
            field: None,
            message: "no hardening: the number of set bits reveals how long the values are \
                      and co-occurring bits reveal frequent q-grams; the recommended profile \
                      adds `harden = [\"balance\"]` to `[filter]` (no loss in linkage \
                      quality measured, filters twice as long)"
                .into(),
        });
    }
    let low = |f: &crate::schema::FieldSpec| -> Option<String> {
        if f.tokenizer != TokenizerSpec::Exact {
            return None;
        }
        match distinct(&f.name) {
            Some(n) if n <= RECOMMENDED.max_exact_distinct => Some(format!(
                "exact tokens of a field with {n} distinct values in the data: each value sets \
                 the same bits in a large share of the filters, which pattern mining finds \
                 first (it assigned `sex:f` on examples/person.toml); leave the field out of \
                 the filter, or use it for blocking only"
            )),
            Some(_) => None,
            None => Some(
                "exact tokens: if the field has few distinct values (sex, state, a title), \
                 each value sets the same bits in a large share of the filters, which pattern \
                 mining finds first; leave such a field out of the filter or use it for \
                 blocking only (`schema check --data` tells from the export)"
                    .into(),
            ),
        }
    };
    for f in &schema.fields {
        if let Some(message) = low(f) {
            out.push(ProfileFinding {
                code: "W021",
                field: Some(f.name.clone()),
                message,
            });
        }
    }
    if schema.filter.layout == Layout::Field && schema.filter.harden.is_empty() {
        out.push(ProfileFinding {
            code: "W023",
            field: None,
            message: format!(
                "field-level filters without hardening: {FIELD_LEAK_UNHARDENED}; `pprl match \
                 --model fs` refuses them (`fs-unhardened`); add `harden = [{{ diffusion = \
                 {{ t = 3 }} }}, \"balance\"]` to `[filter]` as examples/febrl_fields.toml \
                 does ({FIELD_LEAK_HARDENED})"
            ),
        });
    }
    if schema.filter.layout == Layout::Clk
        && !schema.filter.harden.is_empty()
        && !schema
            .filter
            .harden
            .iter()
            .any(|h| RECOMMENDED.harden.contains(&h.name()))
    {
        out.push(ProfileFinding {
            code: "W022",
            field: None,
            message: "hardened without `balance`: the number of set bits still reveals how \
                      long the values are; the recommended profile ends the list with \
                      \"balance\""
                .into(),
        });
    }
    out
}

/// What the attacks re-identified on unhardened field filters, measured on exactly the
/// encoding `pprl match --model fs` needs (examples/febrl_fields.toml; docs/privacy.md, "Field-level
/// filters for probabilistic linkage: the trade").
pub const FIELD_LEAK_UNHARDENED: &str = "the frequency attack re-identified 78% of FEBRL 2's \
     records by surname and 88-93% by given name (FEBRL 2, synthetic), none wrong";

/// The same attacks on the same field filters hardened with `diffusion` (t = 3) and `balance`.
pub const FIELD_LEAK_HARDENED: &str =
    "hardened with diffusion and balance, still 8-20%: equal values still give equal filters";

/// For a field-layout schema, the trade it makes, in plain language: field filters are what
/// probabilistic linkage (`pprl match --model fs`) needs, and they leak field by field.
/// `None` for the other layouts.
pub fn field_layout_note(schema: &Schema) -> Option<String> {
    (schema.filter.layout == Layout::Field).then(|| {
        format!(
            "field-level filters are what probabilistic linkage (`pprl match --model fs`) \
             needs, and they leak field by field: equal values give equal filters, whose \
             frequencies an attacker with a list of names can align (unhardened, \
             {FIELD_LEAK_UNHARDENED}; \
             {FIELD_LEAK_HARDENED}); prefer a record-level CLK unless the linkage needs \
             field weights (docs/privacy.md)"
        )
    })
}

/// Whether `schema` has the recommended profile's shape (layout, fields, length, hardening);
/// the findings of [`review`] say what else is weak.
pub fn matches_recommended(schema: &Schema) -> bool {
    schema.filter.layout == Layout::Clk
        && schema.fields.len() >= RECOMMENDED.min_fields
        && schema.filter.length_bits >= RECOMMENDED.min_length_bits
        && schema
            .filter
            .harden
            .iter()
            .map(|h| h.name())
            .eq(RECOMMENDED.harden.iter().copied())
}
