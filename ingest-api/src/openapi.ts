import { EVENT_TYPES } from '@storepulse/contracts';
import type { IngestConfig } from './config.ts';

const errorBody = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: { code: { type: 'string' }, message: { type: 'string' } },
    },
  },
};

function errorResponse(description: string, retryAfter = false) {
  return {
    description,
    ...(retryAfter ? { headers: { 'Retry-After': { schema: { type: 'integer' }, description: 'seconds to wait before retrying' } } } : {}),
    content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
  };
}

/** OpenAPI 3.1 description of the ingest endpoint, served at /openapi.json. */
export function openApiDocument(config: Pick<IngestConfig, 'maxBatchEvents' | 'maxBatchBytes'>): object {
  const event = {
    type: 'object',
    required: ['event_id', 'type', 'timestamp', 'anonymous_id'],
    properties: {
      event_id: { type: 'string', maxLength: 64, description: 'client-made id, the deduplication key everywhere' },
      type: { type: 'string', enum: [...EVENT_TYPES] },
      timestamp: { type: 'integer', description: 'client clock, epoch ms' },
      anonymous_id: { type: 'string', maxLength: 128 },
      user_id: { type: ['string', 'null'], maxLength: 256 },
      session_id: { type: 'string' },
      page_url: { type: 'string', maxLength: 2048 },
      page_title: { type: 'string' },
      referrer: { type: 'string' },
      search_keyword: { type: 'string', maxLength: 256, description: 'required for search' },
      results_count: { type: 'integer', minimum: 0 },
      element: {
        type: 'object',
        description: 'required for click: tag, id, classes, text, href, selector, product_id, promotion_id, category',
      },
      depth_pct: { type: 'number', minimum: 0, maximum: 100, description: 'required for scroll' },
      form: { type: 'object', description: 'required for form_submit: id, name, action, fields, values' },
      traits: { type: 'object', description: 'identify: flat, at most 50 keys' },
      promotion_ids: { type: 'array', items: { type: 'string' }, description: 'required for promotion_view' },
      personalized: { type: 'boolean' },
      product_id: { type: 'string', description: 'required for add_to_cart' },
      value: { type: 'number' },
      currency: { type: 'string', pattern: '^[A-Z]{3}$' },
      properties: { type: 'object', description: 'flat: string (<=512 chars), number, boolean or null values; at most 50 keys' },
      locale: { type: 'string' },
      screen: { type: 'string' },
    },
  };
  return {
    openapi: '3.1.0',
    info: {
      title: 'storepulse ingest API',
      version: '1',
      description:
        'Receives batches of shopper activity from the tracker and fans them out to one Kafka topic per activity. A 202 means Kafka acknowledged every accepted event (acks=all).',
    },
    paths: {
      '/v1/batch': {
        post: {
          summary: 'Send a batch of events',
          parameters: [
            {
              name: 'key',
              in: 'query',
              required: false,
              schema: { type: 'string' },
              description: 'write key (alternative to write_key / X-Write-Key)',
            },
            { name: 'X-Write-Key', in: 'header', required: false, schema: { type: 'string' } },
            { name: 'Content-Encoding', in: 'header', required: false, schema: { type: 'string', enum: ['gzip', 'identity'] } },
          ],
          requestBody: {
            required: true,
            description: `JSON, sent as application/json or text/plain (sendBeacon); at most ${config.maxBatchBytes} bytes after decompression and ${config.maxBatchEvents} events.`,
            content: {
              'application/json': { schema: { $ref: '#/components/schemas/Batch' } },
              'text/plain': { schema: { $ref: '#/components/schemas/Batch' } },
            },
          },
          responses: {
            '202': {
              description:
                'Accepted: valid events are durable in Kafka; invalid ones went to invalid_events and are listed under rejected.',
              content: {
                'application/json': {
                  schema: {
                    type: 'object',
                    required: ['accepted', 'rejected'],
                    properties: {
                      accepted: { type: 'integer' },
                      rejected: {
                        type: 'array',
                        items: {
                          type: 'object',
                          required: ['index', 'error'],
                          properties: { index: { type: 'integer' }, error: { type: 'string' } },
                        },
                      },
                    },
                  },
                },
              },
            },
            '400': errorResponse('Malformed body (not JSON, not a batch, too deep, too many keys)'),
            '401': errorResponse('Missing or unknown write key'),
            '403': errorResponse('Origin not allowed for this write key'),
            '413': errorResponse('Too many bytes (after decompression) or too many events'),
            '415': errorResponse('Unsupported Content-Type or Content-Encoding'),
            '429': errorResponse('Rate limited per write key or per client IP', true),
            '503': errorResponse('Kafka could not take the batch in time, overload, or shutting down; nothing was accepted', true),
          },
        },
        options: { summary: 'CORS preflight', responses: { '204': { description: 'CORS headers for the key given as ?key=' } } },
      },
      '/sdk.js': {
        get: { summary: 'The tracker bundle', responses: { '200': { description: 'JavaScript' }, '304': { description: 'Not modified' } } },
      },
    },
    components: {
      schemas: {
        Error: errorBody,
        Event: event,
        Batch: {
          type: 'object',
          required: ['events'],
          properties: {
            write_key: { type: 'string' },
            sent_at: { type: 'integer', description: 'client clock when sent, epoch ms (used for skew correction)' },
            user_token: { type: 'string', description: 'hex HMAC-SHA256(IDENTITY_SECRET, "v1:" + user_id) made by the storefront backend' },
            events: { type: 'array', minItems: 1, maxItems: config.maxBatchEvents, items: { $ref: '#/components/schemas/Event' } },
          },
        },
      },
    },
  };
}
