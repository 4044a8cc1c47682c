"""Splink on the clear text of FEBRL-style CSVs, for the side-by-side of docs/probabilistic.md.

    python fs_splink.py dedup OUT.csv FILE.csv        # clusters: cluster,id
    python fs_splink.py link OUT.csv A.csv B.csv      # greedy one-to-one links: a_id,b_id,score

Splink is trained as its FEBRL tutorials do, without ground truth: the prior from a
deterministic rule with recall 0.7, u from a million random pairs, m by EM over three blocking
passes; predictions at match probability 0.5. The comparisons use the same eight fields as
examples/febrl_fields.toml. Run it in a throwaway virtual environment (pip install splink pandas).
"""
import sys
import pandas as pd
from splink import DuckDBAPI, Linker, SettingsCreator, block_on
import splink.comparison_library as cl

mode, out = sys.argv[1], sys.argv[2]
files = sys.argv[3:]
dfs = [pd.read_csv(f, dtype=str, keep_default_na=False).replace({"": None}) for f in files]
comparisons = [
    cl.NameComparison("given_name").configure(term_frequency_adjustments=True),
    cl.NameComparison("surname").configure(term_frequency_adjustments=True),
    cl.DateOfBirthComparison("date_of_birth", input_is_string=True, datetime_format="%Y%m%d"),
    cl.DamerauLevenshteinAtThresholds("soc_sec_id", [1, 2]),
    cl.ExactMatch("street_number").configure(term_frequency_adjustments=True),
    cl.JaroWinklerAtThresholds("address_1", [0.9, 0.8]),
    cl.JaroWinklerAtThresholds("suburb", [0.9, 0.8]),
    cl.ExactMatch("postcode").configure(term_frequency_adjustments=True),
]
# FIELDS=a,b,c keeps only those comparisons (and blocking rules), for sets of fewer fields.
import os
keep = os.environ.get("FIELDS")
if keep:
    keep = keep.split(",")
    comparisons = [c for c, name in zip(comparisons, ["given_name", "surname", "date_of_birth",
                   "soc_sec_id", "street_number", "address_1", "suburb", "postcode"]) if name in keep]
blocking = [block_on(f) for f in ["given_name", "surname", "date_of_birth", "soc_sec_id", "postcode"]
            if not keep or f in keep]
settings = SettingsCreator(
    link_type="dedupe_only" if mode == "dedup" else "link_only",
    comparisons=comparisons,
    blocking_rules_to_generate_predictions=blocking,
    unique_id_column_name="rec_id",
    retain_intermediate_calculation_columns=False,
)
db_api = DuckDBAPI()
sdfs = [db_api.register(d) for d in dfs]
linker = Linker(sdfs if len(sdfs) > 1 else sdfs[0], settings)
linker.training.estimate_probability_two_random_records_match(
    [block_on("given_name", "surname", "date_of_birth")], recall=0.7)
linker.training.estimate_u_using_random_sampling(max_pairs=1e6)
linker.training.estimate_parameters_using_expectation_maximisation(block_on("given_name", "surname"))
linker.training.estimate_parameters_using_expectation_maximisation(block_on("date_of_birth"))
linker.training.estimate_parameters_using_expectation_maximisation(block_on("postcode"))
pred = linker.inference.predict(threshold_match_probability=0.5)
if mode == "dedup":
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(pred, 0.5).as_pandas_dataframe()
    with open(out, "w") as f:
        f.write("cluster,id\n")
        for _, r in clusters.iterrows():
            f.write("%s,%s\n" % (r["cluster_id"], r["rec_id"]))
else:
    p = pred.as_pandas_dataframe()
    # One-to-one, greedy by probability (as pprl's greedy solver).
    p = p.sort_values("match_probability", ascending=False)
    used_l, used_r = set(), set()
    with open(out, "w") as f:
        f.write("a_id,b_id,score\n")
        for _, r in p.iterrows():
            a, b = r["rec_id_l"], r["rec_id_r"]
            if r["source_dataset_l"] > r["source_dataset_r"]:
                a, b = b, a
            if a in used_l or b in used_r:
                continue
            used_l.add(a); used_r.add(b)
            f.write("%s,%s,%.6f\n" % (a, b, r["match_probability"]))
