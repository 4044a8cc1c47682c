//! Reading links: ground truth files and `pprl match` outputs, as sets of record pairs.
//!
//! One reader serves both, because they share their layouts. The layout is recognised from the
//! header (columns in any order; other columns are ignored):
//!
//! | header | layout | records |
//! |---|---|---|
//! | `a_id,b_id[,score]` | [`Layout::Pairs`] | `a_id` from the first file (party 0), `b_id` from the second (party 1) |
//! | `cluster,id` (or `entity_id,record_id`) | [`Layout::Clusters`] | one file (party 0): deduplication |
//! | `cluster,party,id` (or `entity_id,party,record_id`) | [`Layout::PartyClusters`] | several files |
//!
//! Two-party truth (`testdata/sample/truth.csv`) and `pprl match` output for two files use the
//! pairs layout; `pprl match` writes `cluster,id` for one file and `cluster,party,id` for three
//! or more; synthetic data sets describe who is who as `entity_id,party,record_id`.
//!
//! **Parties.** In `pprl match` output a party is the file's position among the inputs, from 0.
//! A truth file's party labels are used the same way when they are all integers; otherwise
//! (e.g. `dept_a`, `dept_b`) they are numbered in sorted order, so list the encoding files to
//! `pprl match` in that order.
//!
//! **From clusters to pairs.** Every two records of a cluster form a pair. When two or more
//! files were linked ([`PairRule::CrossParty`]), only pairs of records from *different* files
//! count: a linkage of files never links two records of one file, so a truth cluster holding two
//! records of one file asks only for their links to the other files. This is the pairwise
//! definition of multi-party quality used by `pprl eval`: a cluster `{a0, b1, c2}` predicts the
//! three pairs `a0-b1`, `a0-c2`, `b1-c2`, and a predicted cluster `{a0, b1}` against that truth
//! has precision 1 and recall 1/3.

use std::collections::{BTreeSet, HashMap, HashSet, hash_map::Entry};
use std::path::Path;

use super::EvalError;
use crate::linkage::RecordRef;

/// Record ids of every party, each numbered in order of first appearance, so that pairs can be
/// compared as small integers instead of strings. Share one `Records` between all the files
/// of an evaluation: the same id of the same party is then the same record.
#[derive(Debug, Default, Clone)]
pub struct Records {
    parties: Vec<HashMap<Box<str>, u32>>,
}

impl Records {
    /// No records yet.
    pub fn new() -> Records {
        Records::default()
    }

    /// The record with id `id` in party `party`, numbered if new.
    pub fn intern(&mut self, party: u16, id: &str) -> RecordRef {
        let party_ix = usize::from(party);
        if self.parties.len() <= party_ix {
            self.parties.resize_with(party_ix + 1, HashMap::new);
        }
        let ids = &mut self.parties[party_ix];
        let next = ids.len() as u32;
        let index = match ids.get(id) {
            Some(&i) => i,
            None => {
                ids.insert(id.into(), next);
                next
            }
        };
        RecordRef { party, index }
    }

    /// The record with id `id` in party `party`, if it has been seen.
    pub fn get(&self, party: u16, id: &str) -> Option<RecordRef> {
        let index = *self.parties.get(usize::from(party))?.get(id)?;
        Some(RecordRef { party, index })
    }

    /// The ids of `party`, indexed by their number.
    pub fn ids(&self, party: u16) -> Vec<&str> {
        let Some(map) = self.parties.get(usize::from(party)) else {
            return Vec::new();
        };
        let mut ids = vec![""; map.len()];
        for (id, &i) in map {
            ids[i as usize] = id;
        }
        ids
    }

    /// Number of distinct records seen in `party`.
    pub fn len(&self, party: u16) -> usize {
        self.parties.get(usize::from(party)).map_or(0, HashMap::len)
    }

    /// True if no record has been seen.
    pub fn is_empty(&self) -> bool {
        self.parties.iter().all(HashMap::is_empty)
    }
}

/// Two distinct records, the lower `(party, index)` first, so that a pair has one spelling.
pub type Pair = (RecordRef, RecordRef);

/// The pair of `x` and `y`, in its one spelling.
pub fn pair(x: RecordRef, y: RecordRef) -> Pair {
    if x <= y { (x, y) } else { (y, x) }
}

/// How a links file groups its records (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// `a_id,b_id[,score]`: two-party pairs.
    Pairs,
    /// `cluster,id`: clusters within one file.
    Clusters,
    /// `cluster,party,id`: clusters across files.
    PartyClusters,
}

impl Layout {
    /// The layout's name in reports: `pairs`, `clusters` or `party-clusters`.
    pub fn as_str(self) -> &'static str {
        match self {
            Layout::Pairs => "pairs",
            Layout::Clusters => "clusters",
            Layout::PartyClusters => "party-clusters",
        }
    }
}

/// The true pairs of a truth file as record ids, for checking a two-file linkage (pairs of a
/// record of party 0 and one of party 1, in that order) or a deduplication (pairs within
/// party 0), as [`crate::linkage::job::MatchOptions::truth`] takes them. Pairs of other
/// parties are left out.
pub fn read_id_pairs(path: &Path, files: usize) -> Result<Vec<(String, String)>, EvalError> {
    let mut records = Records::new();
    let links = Links::read(path, &mut records)?;
    let rule = if files == 1 {
        PairRule::All
    } else {
        PairRule::CrossParty
    };
    let (ids0, ids1) = (records.ids(0), records.ids(1));
    let id = |r: RecordRef| match r.party {
        0 => ids0[r.index as usize],
        _ => ids1[r.index as usize],
    };
    let mut pairs: Vec<(String, String)> = links
        .pairs(rule)
        .into_iter()
        .filter(|(x, y)| {
            if files == 1 {
                x.party == 0 && y.party == 0
            } else {
                x.party == 0 && y.party == 1
            }
        })
        .map(|(x, y)| (id(x).to_string(), id(y).to_string()))
        .collect();
    pairs.sort();
    Ok(pairs)
}

/// Which pairs of a cluster count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PairRule {
    /// Every two records (deduplication of one file).
    All,
    /// Only records of different parties (linkage of two or more files).
    CrossParty,
}

/// The contents of one links file.
#[derive(Debug, Clone)]
pub struct Links {
    layout: Layout,
    /// For [`Layout::Pairs`]: the pairs in file order, with their scores if the file has them.
    pairs: Vec<(Pair, Option<f64>)>,
    /// For the cluster layouts: the clusters, in order of first appearance.
    clusters: Vec<Vec<RecordRef>>,
    parties: BTreeSet<u16>,
    scored: bool,
    score_column: bool,
    truth_names: bool,
}

/// Column positions of a recognised header.
struct Columns {
    layout: Layout,
    first: usize,
    second: usize,
    party: Option<usize>,
    score: Option<usize>,
    /// The columns carry the truth's names (`entity_id`, `record_id`), which `pprl match`
    /// never writes.
    truth_names: bool,
}

impl Columns {
    /// The columns of `header`, or what a links file needs that it lacks (named from the
    /// layouts, never from the header: the header is file content).
    fn find(header: &csv::StringRecord) -> Result<Columns, &'static str> {
        let col = |names: &[&str]| header.iter().position(|h| names.contains(&h.trim()));
        let score = col(&["score"]);
        match (col(&["a_id"]), col(&["b_id"])) {
            (Some(first), Some(second)) => {
                return Ok(Columns {
                    layout: Layout::Pairs,
                    first,
                    second,
                    party: None,
                    score,
                    truth_names: false,
                });
            }
            (Some(_), None) => return Err("a `b_id` column beside its `a_id` column"),
            (None, Some(_)) => return Err("an `a_id` column beside its `b_id` column"),
            (None, None) => {}
        }
        let (cluster, id) = match (col(&["cluster", "entity_id"]), col(&["id", "record_id"])) {
            (Some(c), Some(i)) => (c, i),
            (Some(_), None) => {
                return Err("an `id` (or `record_id`) column beside its cluster column");
            }
            (None, Some(_)) => {
                return Err("a `cluster` (or `entity_id`) column beside its id column");
            }
            (None, None) => {
                return Err("the columns `a_id,b_id` or `cluster,id` (or `entity_id,record_id`)");
            }
        };
        let party = col(&["party"]);
        Ok(Columns {
            layout: if party.is_some() {
                Layout::PartyClusters
            } else {
                Layout::Clusters
            },
            first: cluster,
            second: id,
            party,
            score,
            truth_names: header[cluster].trim() == "entity_id" || header[id].trim() == "record_id",
        })
    }
}

impl Links {
    /// Reads a links file, numbering its records in `records`.
    pub fn read(path: &Path, records: &mut Records) -> Result<Links, EvalError> {
        let shown = path.display().to_string();
        let mut rdr = open(path, &shown)?;
        let header = rdr
            .headers()
            .map_err(|source| csv_error(&shown, source))?
            .clone();
        let cols = Columns::find(&header).map_err(|needs| EvalError::Header {
            path: shown.clone(),
            columns: header.len(),
            needs,
        })?;
        let parties = match cols.party {
            Some(p) => Some(party_numbers(path, &shown, p, &header)?),
            None => None,
        };
        let mut links = Links {
            layout: cols.layout,
            pairs: Vec::new(),
            clusters: Vec::new(),
            parties: BTreeSet::new(),
            scored: cols.score.is_some() && cols.layout == Layout::Pairs,
            score_column: cols.score.is_some(),
            truth_names: cols.truth_names,
        };
        let mut cluster_of_label: HashMap<String, u32> = HashMap::new();
        let mut cluster_of_record: HashMap<RecordRef, u32> = HashMap::new();
        let mut row = csv::StringRecord::new();
        while rdr
            .read_record(&mut row)
            .map_err(|source| csv_error(&shown, source))?
        {
            let line = row.position().map_or(0, csv::Position::line);
            let bad = |c: usize, reason: String| EvalError::Row {
                path: shown.clone(),
                line,
                field: header[c].trim().to_string(),
                reason,
            };
            let value = |c: usize| -> Result<&str, EvalError> {
                let v = row[c].trim();
                if v.is_empty() {
                    Err(bad(c, "empty value".into()))
                } else {
                    Ok(v)
                }
            };
            match cols.layout {
                Layout::Pairs => {
                    let a = records.intern(0, value(cols.first)?);
                    let b = records.intern(1, value(cols.second)?);
                    let score = match cols.score {
                        Some(c) => Some(parse_score(value(c)?).map_err(|r| bad(c, r))?),
                        None => None,
                    };
                    links.pairs.push((pair(a, b), score));
                }
                Layout::Clusters | Layout::PartyClusters => {
                    let party = match (cols.party, &parties) {
                        (Some(c), Some(numbers)) => numbers[value(c)?],
                        _ => 0,
                    };
                    let label = value(cols.first)?;
                    let record = records.intern(party, value(cols.second)?);
                    let next = cluster_of_label.len() as u32;
                    let cluster = *cluster_of_label.entry(label.to_string()).or_insert(next);
                    if cluster == next {
                        links.clusters.push(Vec::new());
                    }
                    match cluster_of_record.entry(record) {
                        Entry::Vacant(e) => {
                            e.insert(cluster);
                            links.clusters[cluster as usize].push(record);
                        }
                        Entry::Occupied(e) if *e.get() != cluster => {
                            return Err(bad(
                                cols.second,
                                "the record is already in another cluster; a record belongs to \
                                 one cluster only"
                                    .into(),
                            ));
                        }
                        Entry::Occupied(_) => {}
                    }
                }
            }
        }
        links.parties = match links.layout {
            Layout::Pairs if links.pairs.is_empty() => BTreeSet::new(),
            Layout::Pairs => [0, 1].into(),
            _ => links.clusters.iter().flatten().map(|r| r.party).collect(),
        };
        Ok(links)
    }

    /// The file's layout.
    pub fn layout(&self) -> Layout {
        self.layout
    }

    /// The parties its records come from.
    pub fn parties(&self) -> &BTreeSet<u16> {
        &self.parties
    }

    /// True if the file has scored pairs (`a_id,b_id,score`).
    pub fn has_scores(&self) -> bool {
        self.scored
    }

    /// True if the header has a `score` column, in any layout: what a match output has and a
    /// truth file does not.
    pub fn has_score_column(&self) -> bool {
        self.score_column
    }

    /// True if the header uses the truth's column names (`entity_id`, `record_id`), which a
    /// `pprl match` output never has.
    pub fn has_truth_names(&self) -> bool {
        self.truth_names
    }

    /// The scored pairs, in file order (empty unless the file has scores).
    pub fn scored_pairs(&self) -> impl Iterator<Item = (Pair, f64)> + '_ {
        self.pairs.iter().filter_map(|&(p, s)| Some((p, s?)))
    }

    /// Every pair the file links (see the module docs for clusters), each once.
    pub fn pairs(&self, rule: PairRule) -> HashSet<Pair> {
        let mut out: HashSet<Pair> = self.pairs.iter().map(|&(p, _)| p).collect();
        for cluster in &self.clusters {
            for (i, &x) in cluster.iter().enumerate() {
                for &y in &cluster[i + 1..] {
                    if rule == PairRule::All || x.party != y.party {
                        out.insert(pair(x, y));
                    }
                }
            }
        }
        out
    }
}

fn open(path: &Path, shown: &str) -> Result<csv::Reader<std::fs::File>, EvalError> {
    let file = std::fs::File::open(path).map_err(|source| EvalError::Io {
        path: shown.to_string(),
        source,
    })?;
    Ok(csv::ReaderBuilder::new().from_reader(file))
}

fn csv_error(path: &str, source: csv::Error) -> EvalError {
    match source.kind() {
        csv::ErrorKind::Io(_) => match source.into_kind() {
            csv::ErrorKind::Io(source) => EvalError::Io {
                path: path.to_string(),
                source,
            },
            _ => unreachable!("checked above"),
        },
        _ => EvalError::Csv {
            path: path.to_string(),
            source,
        },
    }
}

fn parse_score(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if (0.0..=1.0).contains(&v) => Ok(v),
        Ok(v) => Err(format!("score {v} is not between 0 and 1")),
        Err(_) => Err("not a number".into()),
    }
}

/// The party number of every label in column `col`: the labels themselves when they are all
/// integers that fit a party number, otherwise their rank in sorted order. Reads the file once.
fn party_numbers(
    path: &Path,
    shown: &str,
    col: usize,
    header: &csv::StringRecord,
) -> Result<HashMap<String, u16>, EvalError> {
    let mut rdr = open(path, shown)?;
    let mut labels = BTreeSet::new();
    let mut row = csv::StringRecord::new();
    while rdr
        .read_record(&mut row)
        .map_err(|source| csv_error(shown, source))?
    {
        let label = row[col].trim();
        if label.is_empty() {
            return Err(EvalError::Row {
                path: shown.to_string(),
                line: row.position().map_or(0, csv::Position::line),
                field: header[col].trim().to_string(),
                reason: "empty value".into(),
            });
        }
        if !labels.contains(label) {
            labels.insert(label.to_string());
        }
    }
    let numeric: Option<Vec<u16>> = labels.iter().map(|l| l.parse().ok()).collect();
    Ok(match numeric {
        Some(numbers) => labels.into_iter().zip(numbers).collect(),
        None => {
            if labels.len() > usize::from(u16::MAX) {
                return Err(EvalError::Data(format!(
                    "{shown}: more than {} distinct parties",
                    u16::MAX
                )));
            }
            labels
                .into_iter()
                .enumerate()
                .map(|(i, l)| (l, i as u16))
                .collect()
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str, records: &mut Records) -> Result<Links, EvalError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("links.csv");
        std::fs::write(&path, text).unwrap();
        Links::read(&path, records)
    }

    fn ids(records: &Records, pairs: &HashSet<Pair>) -> Vec<(String, String)> {
        let name = |r: RecordRef| {
            let (id, _) = records.parties[usize::from(r.party)]
                .iter()
                .find(|&(_, &i)| i == r.index)
                .unwrap();
            format!("{}:{id}", r.party)
        };
        let mut out: Vec<_> = pairs.iter().map(|&(x, y)| (name(x), name(y))).collect();
        out.sort();
        out
    }

    #[test]
    fn pairs_with_and_without_scores() {
        let mut r = Records::new();
        let t = read("a_id,b_id\nA1,B1\nA2,B2\nA1,B1\n", &mut r).unwrap();
        assert_eq!(t.layout(), Layout::Pairs);
        assert!(!t.has_scores());
        assert_eq!(t.pairs(PairRule::CrossParty).len(), 2);
        // Same ids, same records; columns in another order and an extra column.
        let m = read("score,b_id,note,a_id\n0.9,B1,x,A1\n0.7,B3,y,A2\n", &mut r).unwrap();
        assert!(m.has_scores());
        let scored: Vec<f64> = m.scored_pairs().map(|p| p.1).collect();
        assert_eq!(scored, [0.9, 0.7]);
        let both: Vec<_> = m
            .pairs(PairRule::CrossParty)
            .intersection(&t.pairs(PairRule::CrossParty))
            .copied()
            .collect();
        assert_eq!(both.len(), 1);
        assert_eq!(r.len(0), 2);
        assert_eq!(r.len(1), 3);
    }

    #[test]
    fn clusters_give_every_pair() {
        let mut r = Records::new();
        let d = read("cluster,id\n0,x\n0,y\n1,u\n0,z\n1,v\n", &mut r).unwrap();
        assert_eq!(d.layout(), Layout::Clusters);
        assert_eq!(d.parties(), &BTreeSet::from([0]));
        let pairs = ids(&r, &d.pairs(PairRule::All));
        let want = [
            ("0:u", "0:v"),
            ("0:x", "0:y"),
            ("0:x", "0:z"),
            ("0:y", "0:z"),
        ];
        assert_eq!(pairs, want.map(|(a, b)| (a.to_string(), b.to_string())));
    }

    #[test]
    fn party_clusters_give_cross_party_pairs() {
        let mut r = Records::new();
        let text = "entity_id,party,record_id\ne1,0,a\ne1,1,b\ne1,2,c\ne1,1,b2\ne2,0,d\n";
        let t = read(text, &mut r).unwrap();
        assert_eq!(t.layout(), Layout::PartyClusters);
        assert_eq!(t.parties(), &BTreeSet::from([0, 1, 2]));
        // b and b2 are both party 1: no pair between them.
        let pairs = ids(&r, &t.pairs(PairRule::CrossParty));
        let want = [
            ("0:a", "1:b"),
            ("0:a", "1:b2"),
            ("0:a", "2:c"),
            ("1:b", "2:c"),
            ("1:b2", "2:c"),
        ];
        assert_eq!(pairs, want.map(|(a, b)| (a.to_string(), b.to_string())));
        assert_eq!(t.pairs(PairRule::All).len(), 6);
    }

    #[test]
    fn party_labels_are_numbered_in_sorted_order() {
        let mut r = Records::new();
        let t = read(
            "entity_id,party,record_id\ne,dept_b,1\ne,dept_a,1\n",
            &mut r,
        )
        .unwrap();
        assert_eq!(t.parties(), &BTreeSet::from([0, 1]));
        assert!(r.get(0, "1").is_some() && r.get(1, "1").is_some());
        // Integer labels are kept as they are, even with gaps.
        let mut r = Records::new();
        let t = read("cluster,party,id\n0,2,x\n0,5,y\n", &mut r).unwrap();
        assert_eq!(t.parties(), &BTreeSet::from([2, 5]));
    }

    #[test]
    fn bad_files_are_refused_precisely() {
        let mut r = Records::new();
        let err = read("x,y\n1,2\n", &mut r).unwrap_err();
        assert!(matches!(err, EvalError::Header { columns: 2, .. }), "{err}");
        assert!(!err.to_string().contains("x,y"), "{err}");
        let err = read("a_id,other\n1,2\n", &mut r).unwrap_err();
        assert!(err.to_string().contains("`b_id`"), "{err}");
        let err = read("entity_id,name\n1,2\n", &mut r).unwrap_err();
        assert!(err.to_string().contains("`record_id`"), "{err}");
        let err = read("a_id,b_id,score\nA,B,0.5\nA,B,high\n", &mut r).unwrap_err();
        assert!(
            matches!(err, EvalError::Row { line: 3, ref field, .. } if field == "score"),
            "{err}"
        );
        let err = read("a_id,b_id,score\nA,B,1.5\n", &mut r).unwrap_err();
        assert!(matches!(err, EvalError::Row { line: 2, .. }), "{err}");
        let err = read("a_id,b_id\nA,\n", &mut r).unwrap_err();
        assert!(
            matches!(err, EvalError::Row { line: 2, ref field, .. } if field == "b_id"),
            "{err}"
        );
        let err = read("cluster,id\n0,x\n1,x\n", &mut r).unwrap_err();
        assert!(matches!(err, EvalError::Row { line: 3, .. }), "{err}");
        let err = read("a_id,b_id\nA,B\nC\n", &mut r).unwrap_err();
        assert!(matches!(err, EvalError::Csv { .. }), "{err}");
        let missing = Links::read(Path::new("/nonexistent/links.csv"), &mut r).unwrap_err();
        assert!(matches!(missing, EvalError::Io { .. }));
    }
}
