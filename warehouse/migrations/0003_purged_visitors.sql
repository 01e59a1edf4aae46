-- Consent opt-out tombstones: one row per purge of a visitor key
-- (`u:<user_id>` / `a:<anonymous_id>`, as events.user_key). The analytics
-- processor drops every event of a listed visitor received at or before
-- purged_at, so a Kafka replay or redelivery does not bring purged rows back.
-- A row goes at expires_at (the purge request sets it: the tombstone must
-- outlive the Kafka retention, see scripts' PURGE_TOMBSTONE_TTL_DAYS).
-- This file is frozen once applied anywhere: add a new numbered file instead.

CREATE TABLE IF NOT EXISTS activity.purged_visitors {{ON_CLUSTER}}
(
    user_key   String,
    purged_at  DateTime64(3, 'UTC'),
    expires_at DateTime('UTC')
)
ENGINE = {{REPLICATED}}ReplacingMergeTree(purged_at)
ORDER BY user_key
TTL expires_at;
