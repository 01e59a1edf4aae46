/**
 * ClickHouse row types for `activity.events`. The analytics processor maps
 * enriched events to these; the warehouse owns the table definitions.
 */
export interface EventRow {
  event_id: string;
  type: string;
  /** DateTime64(3) as epoch ms (sent to ClickHouse as 'YYYY-MM-DD hh:mm:ss.sss' UTC). */
  date: number;
  received_at: number;
  site: string;
  /** `u:<user_id>` when the user id is proven, else `a:<anonymous_id>` (personalizationKey). */
  user_key: string;
  user_id: string;
  anonymous_id: string;
  session_id: string;
  user_verified: number;
  page_url: string;
  page_path: string;
  referrer: string;
  search_keyword: string;
  results_count: number | null;
  element_tag: string;
  element_id: string;
  element_text: string;
  element_selector: string;
  element_href: string;
  product_id: string;
  category: string;
  promotion_id: string;
  promotion_ids: string[];
  personalized: number | null;
  depth_pct: number | null;
  value: number | null;
  currency: string;
  is_bot: number;
  country: string;
  user_agent: string;
  /** Everything else the event carried, flattened and capped (see processors/analytics README). */
  properties: Record<string, string>;
}

export const WAREHOUSE_DATABASE = 'activity';
export const EVENTS_TABLE = 'events';
