-- Athena table over the daily conversation export (chalicelib/conversations/export.py).
-- Files: s3://<analytics bucket>/conversations/day=YYYY-MM-DD/conversations.parquet
-- Partition projection: no MSCK REPAIR or Glue crawler needed; a new day is queryable at once.
-- Replace <analytics bucket> with the stage's AnalyticsBucket name (three places), then run it
-- once in the Athena console or with `aws athena start-query-execution`.
CREATE EXTERNAL TABLE IF NOT EXISTS contact_center_conversations (
  conversation_id string,
  direction string,
  status string,
  outcome string,
  customer_id string,
  customer_name string,
  owner_agent_id string,
  team string,
  caller string,
  started_ms bigint,
  ended_ms bigint,
  hour int,
  weekday int,
  queued_ms bigint,
  answered_ms bigint,
  answered_by string,
  answered_relation string,
  stage_reached string,
  queue_wait_ms bigint,
  talk_ms bigint,
  hold_ms bigint,
  wrap_ms bigint,
  hung_up_by string,
  missed_offers int,
  voicemail_url string,
  outside_hours boolean,
  callback_requested boolean,
  routing_degraded boolean,
  wrap_up_note string,
  wrap_up_code string,
  legs int,
  cost_micros bigint,
  cost_unit string,
  offers array<struct<reservation_sid:string,agent_id:string,stage:string,offered_ms:bigint,ring_ms:bigint,outcome:string>>,
  recordings_json string,
  timeline_json string
)
PARTITIONED BY (day string)
STORED AS PARQUET
LOCATION 's3://<analytics bucket>/conversations/'
TBLPROPERTIES (
  'parquet.compression' = 'ZSTD',
  'projection.enabled' = 'true',
  'projection.day.type' = 'date',
  'projection.day.format' = 'yyyy-MM-dd',
  'projection.day.range' = '2025-01-01,NOW',
  'projection.day.interval' = '1',
  'projection.day.interval.unit' = 'DAYS',
  'storage.location.template' = 's3://<analytics bucket>/conversations/day=${day}/'
);
