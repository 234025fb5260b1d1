// Reads a metrics.parquet with DuckDB and prints {n, sum, map} as JSON.
// usage: node duckdb.js <metrics.parquet>
const { DuckDBInstance } = require('@duckdb/node-api');
(async () => {
  const path = process.argv[2].replace(/'/g, "''");
  const db = await DuckDBInstance.create(':memory:');
  const con = await db.connect();
  const r = await con.runAndReadAll(`SELECT count(*)::BIGINT AS n, sum(value) AS s,
    max(CASE WHEN run_id = 'encode[strategy=hybrid]' AND setting = 'multi' AND metric = 'map' AND q_lang = 'all' THEN value END) AS m
    FROM read_parquet('${path}')`);
  const [n, s, m] = r.getRows()[0];
  console.log(JSON.stringify({ n: Number(n), sum: s, map: m }));
})().catch(e => { console.error(e); process.exit(1); });
