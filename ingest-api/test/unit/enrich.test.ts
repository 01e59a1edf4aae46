import { describe, expect, it } from 'vitest';
import { signUserToken, type WireEvent } from '@storepulse/contracts';
import { clientIp, coarseCountry, correctedTime, enrichEvent, isBotUserAgent, pagePath, type RequestContext } from '../../src/enrich.ts';

const DAY = 86_400_000;

describe('correctedTime', () => {
  it('moves the event by the client clock skew: received_at - (sent_at - timestamp)', () => {
    // client clock 1 h behind: sent_at says 10:00, we receive at 11:00; event happened 2 s before sending
    const received = 1_800_000_000_000;
    const sent = received - 3_600_000;
    expect(correctedTime(received, sent, sent - 2000, 7 * DAY, 60_000)).toEqual({ date: received - 2000, clamped: false });
  });

  it('uses the client timestamp when sent_at is missing', () => {
    expect(correctedTime(1_000_000, undefined, 999_000, DAY, 0)).toEqual({ date: 999_000, clamped: false });
  });

  it('clamps into [received_at - maxAge, received_at + maxFuture] and says so', () => {
    expect(correctedTime(10 * DAY, 10 * DAY, 0, DAY, 1000)).toEqual({ date: 9 * DAY, clamped: true });
    expect(correctedTime(10 * DAY, 10 * DAY, 10 * DAY + 5000, DAY, 1000)).toEqual({ date: 10 * DAY + 1000, clamped: true });
  });
});

describe('isBotUserAgent', () => {
  it('flags crawlers, headless browsers and HTTP libraries', () => {
    for (const ua of [
      'Mozilla/5.0 (compatible; Googlebot/2.1)',
      'Mozilla/5.0 HeadlessChrome/120',
      'curl/8.5.0',
      'python-requests/2.31',
      undefined,
      '',
    ]) {
      expect(isBotUserAgent(ua)).toBe(true);
    }
  });
  it('does not flag real browsers', () => {
    expect(
      isBotUserAgent('Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36'),
    ).toBe(false);
    expect(isBotUserAgent('Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 Safari/604.1')).toBe(
      false,
    );
  });
});

describe('pagePath', () => {
  it('extracts the path of absolute and relative URLs', () => {
    expect(pagePath('https://shop.example/deals/?q=1#top')).toBe('/deals/');
    expect(pagePath('https://shop.example')).toBe('/');
    expect(pagePath('/deals/x?y')).toBe('/deals/x');
    expect(pagePath('not a url')).toBeUndefined();
    expect(pagePath(undefined)).toBeUndefined();
  });
});

describe('clientIp', () => {
  it('ignores X-Forwarded-For without trusted hops', () => {
    expect(clientIp('10.0.0.1', '1.2.3.4', 0)).toBe('10.0.0.1');
  });
  it('takes the address the trusted proxies saw, not what the client wrote', () => {
    // client forged "6.6.6.6"; the one proxy in front of us appended the real 1.2.3.4
    expect(clientIp('10.0.0.1', '6.6.6.6, 1.2.3.4', 1)).toBe('1.2.3.4');
    expect(clientIp('10.0.0.2', '6.6.6.6, 1.2.3.4, 10.0.0.1', 2)).toBe('1.2.3.4');
    expect(clientIp('::ffff:10.0.0.1', undefined, 1)).toBe('10.0.0.1');
  });
});

describe('coarseCountry', () => {
  it('keeps a two-letter country code and nothing else', () => {
    expect(coarseCountry('de')).toBe('DE');
    expect(coarseCountry('XX')).toBeUndefined();
    expect(coarseCountry('1.2.3.4')).toBeUndefined();
    expect(coarseCountry(undefined)).toBeUndefined();
  });
});

describe('enrichEvent', () => {
  const ctx: RequestContext = {
    receivedAt: 2_000_000,
    sentAt: 1_000_500,
    site: 'demo',
    userAgent: 'Mozilla/5.0 Firefox/140.0',
    isBot: false,
    country: 'FR',
    userToken: undefined,
    identitySecret: 'secret-secret',
    maxAgeMs: DAY,
    maxFutureMs: 60_000,
  };
  const event: WireEvent = {
    event_id: 'e1',
    type: 'search',
    timestamp: 1_000_000,
    anonymous_id: 'a1',
    user_id: 'u1',
    page_url: '/deals/',
    search_keyword: 'humidifier',
    locale: 'fr-FR',
    screen: '1920x1080',
  };

  it('adds server time, corrected date, site and context, and keeps the classic fields', () => {
    const e = enrichEvent(event, ctx);
    expect(e).toMatchObject({
      user_id: 'u1',
      page_url: '/deals/',
      search_keyword: 'humidifier',
      date: 2_000_000 - 500,
      received_at: 2_000_000,
      sent_at: 1_000_500,
      site: 'demo',
      page_path: '/deals/',
      user_verified: false,
    });
    expect(e.context).toEqual({
      is_bot: false,
      user_agent: 'Mozilla/5.0 Firefox/140.0',
      country: 'FR',
      locale: 'fr-FR',
      screen: '1920x1080',
    });
    expect(e).not.toHaveProperty('locale');
    expect(e.clock_clamped).toBeUndefined();
  });

  it('marks user_verified only with a valid token for that user_id', () => {
    expect(enrichEvent(event, { ...ctx, userToken: signUserToken('secret-secret', 'u1') }).user_verified).toBe(true);
    expect(enrichEvent(event, { ...ctx, userToken: signUserToken('secret-secret', 'someone-else') }).user_verified).toBe(false);
    expect(enrichEvent(event, { ...ctx, userToken: signUserToken('wrong-secret', 'u1') }).user_verified).toBe(false);
  });

  it('turns a missing or empty user_id into null', () => {
    expect(enrichEvent({ ...event, user_id: '' }, ctx).user_id).toBeNull();
    expect(enrichEvent({ ...event, user_id: undefined }, ctx).user_id).toBeNull();
  });
});
