//! Results as Parquet (`?format=parquet`): the same rows as the CSV views on servers built
//! with the `polars` feature, and a clear refusal on servers built without it.

use crate::util::{Srv, files, linked};

#[cfg(not(feature = "polars"))]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parquet_is_refused_with_the_fix_without_the_feature() {
    let srv = Srv::new().await;
    let f = files();
    let (p, run) = linked(&srv, &f, false).await;
    let uri = format!("/api/v1/projects/{}/runs/{run}/result", p.id);
    let r = srv
        .get(&format!("{uri}?format=parquet"), Some(&p.reader))
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["code"], "result-format-unavailable");
    assert!(r.json()["detail"].as_str().unwrap().contains("polars"));
    let r = srv
        .get(&format!("{uri}?format=xlsx"), Some(&p.reader))
        .await;
    assert_eq!(r.json()["code"], "result-format-invalid");
    assert_eq!(
        srv.get(&format!("{uri}?format=csv"), Some(&p.reader))
            .await
            .status,
        200
    );
}

#[cfg(feature = "polars")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parquet_views_hold_the_rows_of_the_csv_views() {
    use polars::prelude::*;

    let srv = Srv::new().await;
    let f = files();
    let (p, run) = linked(&srv, &f, true).await;
    let uri = format!("/api/v1/projects/{}/runs/{run}/result", p.id);
    let rows = |bytes: Vec<u8>| -> Vec<Vec<String>> {
        let df = ParquetReader::new(std::io::Cursor::new(bytes))
            .finish()
            .unwrap();
        (0..df.height())
            .map(|i| {
                df.columns()
                    .iter()
                    .map(|c| match c.get(i).unwrap() {
                        AnyValue::String(s) => s.to_string(),
                        AnyValue::StringOwned(s) => s.to_string(),
                        AnyValue::Float64(x) => format!("{x:.6}"),
                        v => v.to_string(),
                    })
                    .collect()
            })
            .collect()
    };
    let csv_rows = |text: String| -> Vec<Vec<String>> {
        text.lines()
            .skip(1)
            .map(|l| l.split(',').map(str::to_string).collect())
            .collect()
    };
    for (token, q) in [
        (&p.reader, ""),
        (&p.reader, "&scores=true"),
        (&p.parties[0], ""),
        (&p.parties[1], ""),
    ] {
        let pq = srv
            .get(&format!("{uri}?format=parquet{q}"), Some(token))
            .await;
        assert_eq!(pq.status, 200, "{}", pq.text());
        assert_eq!(pq.headers["content-type"], "application/vnd.apache.parquet");
        assert!(pq.body.starts_with(b"PAR1"));
        let csv = srv.get(&format!("{uri}?format=csv{q}"), Some(token)).await;
        let want = csv_rows(csv.text());
        assert!(want.len() > 250);
        assert_eq!(rows(pq.body), want, "{q}");
    }
}
