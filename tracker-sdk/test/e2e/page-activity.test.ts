import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signUserToken } from '@storepulse/contracts';
import { newVisitor, open, pathOf, settle, startE2E, type E2E } from './harness.ts';

const SECRET = 'e2e-identity-secret';

let e2e: E2E;
beforeAll(async () => {
  e2e = await startE2E({ IDENTITY_SECRET: SECRET });
});
afterAll(async () => {
  await e2e?.stop();
});

describe('autocapture of scrolling, forms and SPA navigation, checked by what arrived in Kafka', () => {
  it('records scroll depth milestones 25/50/75/100 once each when the shopper scrolls to the bottom', async () => {
    const { ctx, page } = await newVisitor(e2e);
    const anon = await open(page, '/products/p-hum-002');
    const height = await page.evaluate(() => document.documentElement.scrollHeight);
    expect(height).toBeGreaterThan(3 * 800); // a long page
    for (let y = 0; y <= height; y += 400) {
      await page.evaluate((top) => window.scrollTo(0, top), y);
      await page.waitForTimeout(60);
    }
    await page.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight));
    await page.waitForTimeout(300);
    await page.evaluate(() => window.scrollTo(0, 0)); // scrolling back up adds nothing
    await page.waitForTimeout(300);
    await settle(page, e2e.kafka, anon);
    const scrolls = e2e.kafka.of(anon, 'scroll');
    expect(scrolls.map((e) => e.depth_pct).sort((a, b) => a! - b!)).toEqual([25, 50, 75, 100]);
    for (const s of scrolls) expect(pathOf(s.page_url)).toBe('/products/p-hum-002');
    await ctx.close();
  });

  it('records a form submission with field names but no values', async () => {
    const { ctx, page } = await newVisitor(e2e);
    const anon = await open(page, '/contact');
    await page.fill('input[name=name]', 'Ada Lovelace');
    await page.fill('input[name=email]', 'ada@example.org');
    await page.fill('textarea[name=message]', 'Where is my humidifier?');
    await page.check('input[name=newsletter]');
    await page.click('#contact-submit');
    await page.waitForSelector('#contact-thanks');
    const f = await e2e.kafka.waitFor('the form submission', () => e2e.kafka.of(anon, 'form_submit')[0]);
    expect(f.form).toEqual({
      id: 'contact-form',
      name: 'contact',
      action: '/contact',
      fields: ['name', 'email', 'topic', 'message', 'newsletter'],
    });
    const raw = JSON.stringify(e2e.kafka.of(anon));
    expect(raw).not.toContain('ada@example.org');
    expect(raw).not.toContain('Lovelace');
    await ctx.close();
  });

  it('never captures anything from password or credit card fields, even when they are allowed', async () => {
    const { ctx, page } = await newVisitor(e2e);
    const anon = await open(page, '/contact');
    await page.evaluate(() => {
      const form = document.createElement('form');
      form.id = 'checkout';
      form.innerHTML = `
        <input name="coupon" data-sp-capture value="WINTER25">
        <input name="pw" type="password" data-sp-capture>
        <input name="cardnumber" data-sp-capture autocomplete="cc-number">
        <input name="cvc" data-sp-capture>
        <button type="submit" id="pay">Pay</button>`;
      form.addEventListener('submit', (e) => e.preventDefault());
      document.getElementById('app')!.append(form);
    });
    await page.fill('input[name=pw]', 'hunter2-secret');
    await page.fill('input[name=cardnumber]', '4111111111111111');
    await page.fill('input[name=cvc]', 'QZX-cvc');
    await page.click('input[name=pw]');
    await page.click('#pay');
    const f = await e2e.kafka.waitFor('the checkout form', () => e2e.kafka.of(anon, 'form_submit')[0]);
    expect(f.form).toEqual({ id: 'checkout', fields: ['coupon'], values: { coupon: 'WINTER25' } });
    await settle(page, e2e.kafka, anon);
    const raw = JSON.stringify(e2e.kafka.of(anon));
    for (const secret of ['hunter2-secret', '4111111111111111', 'QZX-cvc', 'cardnumber', '"pw"']) expect(raw).not.toContain(secret);
    await ctx.close();
  });

  it('records SPA navigations (pushState and back) as page views with title and referrer', async () => {
    const { ctx, page } = await newVisitor(e2e);
    const anon = await open(page, '/');
    await page.click('#main-nav a[href="/category/fans"]');
    await page.waitForURL('**/category/fans');
    await page.click('article[data-product-id="p-fan-002"] a.product-link');
    await page.waitForURL('**/products/p-fan-002');
    await page.goBack();
    await page.waitForURL('**/category/fans');
    await settle(page, e2e.kafka, anon);
    const views = e2e.kafka.of(anon, 'page_view');
    expect(views.map((e) => pathOf(e.page_url))).toEqual(['/', '/category/fans', '/products/p-fan-002', '/category/fans']);
    expect(views[1]!.page_title).toBe('Fans — Hearth & Air');
    expect(pathOf(views[1]!.referrer)).toBe('/');
    expect(views[2]!.page_title).toBe('Breezy Desk Fan 6" — Hearth & Air');
    expect(pathOf(views[3]!.referrer)).toBe('/products/p-fan-002');
    expect(new Set(views.map((v) => v.session_id)).size).toBe(1);
    await ctx.close();
  });

  it("attaches the identified user to later events, verified only with the storefront's signed token, and forgets it on reset()", async () => {
    const { ctx, page } = await newVisitor(e2e);
    const anon = await open(page, '/');
    type SP = { identify(id: string, o?: object): void; reset(): void; anonymousId(): string; track(t: string, p?: object): void };
    await page.evaluate(
      ([token]) =>
        (window as unknown as { storepulse: SP }).storepulse.identify('ada@example.org', { token, traits: { plan: 'gold', visits: 3 } }),
      [signUserToken(SECRET, 'ada@example.org')],
    );
    await page.click('#cat-fans article[data-product-id="p-fan-001"] a.product-link');
    const id = await e2e.kafka.waitFor('the identify', () => e2e.kafka.of(anon, 'identify')[0]);
    expect(id).toMatchObject({ user_id: 'ada@example.org', user_verified: true, traits: { plan: 'gold', visits: 3 } });
    const click = await e2e.kafka.waitFor('the click of the identified user', () => e2e.kafka.of(anon, 'click')[0]);
    expect(click).toMatchObject({ user_id: 'ada@example.org', user_verified: true, anonymous_id: anon });
    const key = e2e.kafka.messages.find((m) => m.event.event_id === click.event_id)?.key;
    expect(key).toBe('ada@example.org');

    // a claim without proof is kept, but not verified
    await page.evaluate(() => (window as unknown as { storepulse: SP }).storepulse.identify('eve@example.org', { token: 'f'.repeat(64) }));
    const claim = await e2e.kafka.waitFor('the unproven identify', () =>
      e2e.kafka.of(anon, 'identify').find((e) => e.user_id === 'eve@example.org'),
    );
    expect(claim.user_verified).toBe(false);

    const fresh = await page.evaluate(() => {
      const sp = (window as unknown as { storepulse: SP }).storepulse;
      sp.reset();
      sp.track('add_to_cart', { product_id: 'p-fan-001' });
      return sp.anonymousId();
    });
    expect(fresh).not.toBe(anon);
    const cart = await e2e.kafka.waitFor('the event after reset', () => e2e.kafka.of(fresh, 'add_to_cart')[0]);
    expect(cart.user_id).toBeNull();
    await ctx.close();
  });
});
