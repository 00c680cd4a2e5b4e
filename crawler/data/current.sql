-- parkcorpus: current versions of the articles for DuckDB (docs/schema.md, "Current versions").
--
-- A dataset keeps every stored version of a post; the current one is the latest fetched_at, ties
-- (a re-extraction of the same fetch) broken by the latest extracted_at, then the highest
-- content_hash: the rule of crawler.store.load(). Load these macros once per connection, then
-- pass the dataset folder (absolute, or relative to where DuckDB runs):
--
--   duckdb -c ".read data/current.sql" -c "select count(*) from current_articles('data')"
--   con.sql(open("data/current.sql").read()); con.sql("select * from current_articles('data')")
--
-- Filter (site, year, month, published ...) on the result, not inside: a post whose current
-- version moved to another month must not bring back its old version. DuckDB still prunes the
-- hive folders for a site filter.

-- every stored version (year/month as integers; union_by_name: older files may lack new columns)
CREATE OR REPLACE MACRO article_versions(root) AS TABLE
    SELECT * FROM read_parquet(root || '/articles/**/*.parquet', hive_partitioning = true,
                               hive_types = {'year': INTEGER, 'month': INTEGER}, union_by_name = true);

-- one row per (site, post_id): its current version
CREATE OR REPLACE MACRO current_articles(root) AS TABLE
    SELECT * FROM article_versions(root)
    QUALIFY row_number() OVER (
        PARTITION BY site, post_id
        ORDER BY fetched_at DESC NULLS LAST, extracted_at DESC NULLS LAST, content_hash DESC,
                 record_hash DESC NULLS LAST) = 1;

-- the links shown on current versions only (a links row names its version by content_hash)
CREATE OR REPLACE MACRO current_links(root) AS TABLE
    SELECT l.* FROM read_parquet(root || '/links/**/*.parquet', hive_partitioning = true,
                                 union_by_name = true) AS l
    SEMI JOIN (SELECT site, post_id, content_hash FROM current_articles(root)) AS c
        ON l.src_site = c.site AND l.src_post_id = c.post_id AND l.content_hash = c.content_hash;
