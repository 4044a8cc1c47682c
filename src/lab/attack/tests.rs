//! Attack regression tests: floors measured on small synthetic populations (see
//! docs/attacks.md for the commands and figures at larger sizes).

use super::*;

fn schema(layout: &str, fields: &[&str]) -> Schema {
    let mut toml = format!(
        "version = 1\nid_column = \"record_id\"\n[filter]\nlayout = \"{layout}\"\nlength_bits = 1024\n"
    );
    for f in fields {
        let (tok, k) = match *f {
            "date_of_birth" => (
                "normalize = [{ date = { formats = [\"%d/%m/%Y\", \"%Y-%m-%d\"] } }]\ntokenizer = { kind = \"date\" }",
                20,
            ),
            "sex" => ("normalize = [\"casefold\"]\ntokenizer = { kind = \"exact\" }", 10),
            _ => (
                "normalize = [\"nfkc\", \"casefold\", \"strip-diacritics\", \"strip-punctuation\", \"collapse-whitespace\"]\ntokenizer = { kind = \"qgram\", q = 2, padding = true }",
                20,
            ),
        };
        toml.push_str(&format!("[[fields]]\nname = \"{f}\"\n{tok}\nbits_per_token = {k}\n"));
    }
    Schema::from_toml_str(&toml).unwrap()
}

fn sim(records: u64, overlap: f64, fields: &[&str]) -> Simulation {
    Simulation {
        records,
        overlap,
        corruption: CorruptionLevel::Low,
        seed: 7,
        fields: fields.iter().map(|s| s.to_string()).collect(),
    }
}

#[test]
fn outcomes_follow_the_anu_scoring() {
    use score::outcome;
    assert_eq!(outcome(3, &[3], 10), Outcome::Correct1To1);
    assert_eq!(outcome(3, &[1, 3], 10), Outcome::Correct1ToM);
    assert_eq!(outcome(3, &[1, 2], 10), Outcome::Wrong);
    assert_eq!(outcome(3, &[], 10), Outcome::NoGuess);
    assert_eq!(outcome(3, &[1, 2, 3], 2), Outcome::NoGuess);
}

#[test]
fn true_positions_are_set_in_every_filter_holding_the_token() {
    let schema = schema("field", &["given_name"]);
    let data = simulation_data(&schema, &sim(300, 1.0, &["given_name"])).unwrap();
    let truth = data.true_positions.as_ref().unwrap();
    let top = data.top_token().unwrap();
    let real = truth[top as usize].as_ref().unwrap();
    assert_eq!(real.len(), 20);
    let token = &data.tokens[top as usize]["given_name:".len()..];
    let mut holding = 0;
    for (i, t) in data.truth.iter().enumerate() {
        let value = &data.values[t.unwrap() as usize];
        if format!("_{value}_").contains(token) {
            holding += 1;
            let set = data::ones(data.filters.get(i));
            for p in real {
                assert!(set.binary_search(p).is_ok(), "{value} {token} {p}");
            }
        }
    }
    assert!(holding > 10);
}

#[test]
#[ignore]
fn debug_pattern() {
    let schema = schema("field", &["given_name"]);
    let data = simulation_data(&schema, &sim(2000, 1.0, &["given_name"])).unwrap();
    let counts = data.token_counts();
    let mut order: Vec<usize> = (0..counts.len()).collect();
    order.sort_by_key(|&t| std::cmp::Reverse(counts[t]));
    for &t in order.iter().take(8) {
        let real = data.true_positions.as_ref().unwrap()[t].as_ref().unwrap();
        let sup: Vec<usize> = real
            .iter()
            .map(|&p| (0..data.filters.len()).filter(|&i| data::ones(data.filters.get(i)).contains(&p)).count())
            .collect();
        eprintln!("{} {} {:?} {:?}", data.tokens[t], counts[t], real, sup);
    }
    let r = pattern::run(&data, &PatternSettings::default());
    eprintln!("{:?}", r.details);
    eprintln!("{:?}", &r.assignments[..3]);
}

#[test]
#[ignore]
fn debug_pattern_report() {
    let schema = schema("field", &["given_name"]);
    let data = simulation_data(&schema, &sim(2000, 1.0, &["given_name"])).unwrap();
    let r = run(AttackKind::Pattern, &data, &AttackSettings::default()).unwrap();
    eprintln!("{:?}", r.positions);
    eprintln!("{:?}", r.scores.per_record);
}
