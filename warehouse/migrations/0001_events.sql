-- Every activity, one row per distinct event_id.
-- Placeholders filled by the runner (never by hand): {{ON_CLUSTER}},
-- {{REPLICATED}} (empty or "Replicated"), {{EVENTS_TTL_DAYS}}.
-- This file is frozen once applied anywhere: add a new numbered file instead.

CREATE DATABASE IF NOT EXISTS activity {{ON_CLUSTER}};

CREATE TABLE IF NOT EXISTS activity.events {{ON_CLUSTER}}
(
    event_id         String,
    type             LowCardinality(String),
    date             DateTime64(3, 'UTC'),
    received_at      DateTime64(3, 'UTC'),
    site             LowCardinality(String),
    user_key         String,
    user_id          String,
    anonymous_id     String,
    session_id       String,
    user_verified    UInt8,
    page_url         String,
    page_path        String,
    referrer         String,
    search_keyword   String,
    results_count    Nullable(UInt32),
    element_tag      LowCardinality(String),
    element_id       String,
    element_text     String,
    element_selector String,
    element_href     String,
    product_id       String,
    category         String,
    promotion_id     String,
    promotion_ids    Array(String),
    personalized     Nullable(UInt8),
    depth_pct        Nullable(UInt8),
    value            Nullable(Float64),
    currency         LowCardinality(String),
    is_bot           UInt8,
    country          LowCardinality(String),
    user_agent       String,
    properties       Map(String, String),
    -- A date outside this window is a broken client clock that ingest did not
    -- clamp; the processor dead-letters rows ClickHouse rejects.
    CONSTRAINT date_in_range CHECK date >= toDateTime64('2000-01-01 00:00:00', 3, 'UTC')
                              AND date < toDateTime64('2100-01-01 00:00:00', 3, 'UTC')
)
-- Replacing on the full sort key: a duplicate event_id that slipped past the
-- processor's dedup cache collapses on merge when it falls in the same hour.
ENGINE = {{REPLICATED}}ReplacingMergeTree
PARTITION BY toYYYYMM(date)
ORDER BY (site, type, toStartOfHour(date), event_id)
TTL toDateTime(date) + INTERVAL {{EVENTS_TTL_DAYS}} DAY
SETTINGS
    -- Remember recent insert_deduplication_tokens so that a redelivered batch
    -- (same topic-partition offset range) is written once. Plain MergeTree
    -- keeps none by default.
    non_replicated_deduplication_window = 20000,
    replicated_deduplication_window = 20000,
    index_granularity = 8192;
